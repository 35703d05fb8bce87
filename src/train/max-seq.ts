// `ulysses train --max-seq`: the longest sequence one training step of a config fits in a memory
// budget per rank. The memory accounting (planMemory, the dry run's formulas) is linear in the
// sequence length N but leaves out what it does not model (the runtime, the attention core's and
// the all-to-alls' scratch, allocator slack), so two short real steps measure peak memory, a line
// through them (peak = a + b·N) gives the longest N under the budget, and a real step at that N
// confirms it (shrinking N while it does not fit). Lengths are multiples of `granule`.
import { planMemory } from './dry-run.js';
import { buildConfig, worldSizeOf, type UlyssesConfig } from './config.js';
import { ConfigError } from './errors.js';

/** What a real training step at a sequence length held: peak bytes per rank, and the accounting's share. */
export interface ProbeResult {
  readonly N: number;
  /** Peak resident memory per rank in bytes (threads backend: the process's peak over its ranks). */
  readonly measured: number;
}

/** Runs one real training step of c (with data.seq_len set) and reports its peak memory per rank. */
export type Probe = (c: UlyssesConfig) => Promise<ProbeResult>;

export interface MaxSeqResult {
  readonly budget: number;
  /** The longest N the accounting alone allows. */
  readonly accountingN: number;
  /** Peak per rank = a + b·N, fitted through the two short probes. */
  readonly fit: { readonly a: number; readonly b: number };
  /** The longest N that fit in the budget in a real step. */
  readonly N: number;
  /** Every real step, in order, with the accounting's and the fit's prediction. */
  readonly steps: readonly (ProbeResult & { readonly accounting: number; readonly predicted: number })[];
}

export interface MaxSeqOptions {
  budget: number;
  probe: Probe;
  /** Lengths are multiples of this (default 64 × sequence_parallel_size). */
  granule?: number;
  /** Real steps at the found length before giving up (default 3). */
  attempts?: number;
  log?: (line: string) => void;
}

/** c with sequence length N (and model.max_seq_len raised to N where it is shorter). */
export function withSeqLen(c: UlyssesConfig, N: number): UlyssesConfig {
  return buildConfig([
    { kind: 'json', value: c, source: 'max-seq' },
    { kind: 'set', path: 'data.seq_len', value: N, source: 'max-seq' },
    { kind: 'set', path: 'model.max_seq_len', value: Math.max(N, c.model.max_seq_len), source: 'max-seq' },
  ]);
}

/** The accounting's bytes per rank for one step at length N. */
export function accountingBytes(c: UlyssesConfig, N: number): number {
  return planMemory(withSeqLen(c, N)).total;
}

/** Largest multiple of g with f(N) <= budget, for f increasing in N; 0 when even g does not fit. */
export function longestUnder(f: (N: number) => number, budget: number, g: number): number {
  if (f(g) > budget) return 0;
  let lo = 1;
  let hi = 2;
  while (f(hi * g) <= budget && hi < 2 ** 30) hi *= 2;
  // Invariant: lo·g fits, hi·g does not.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (f(mid * g) <= budget) lo = mid;
    else hi = mid;
  }
  return lo * g;
}

export async function findMaxSeq(c: UlyssesConfig, o: MaxSeqOptions): Promise<MaxSeqResult> {
  const log = o.log ?? ((): void => {});
  const g = o.granule ?? 64 * c.sequence_parallel_size;
  if (!(o.budget > 0)) throw new ConfigError(`--mem-budget must be a positive size, got ${o.budget} bytes`);
  const acc = (N: number): number => accountingBytes(c, N);
  const accountingN = longestUnder(acc, o.budget, g);
  if (accountingN === 0) {
    throw new ConfigError(
      `even ${g} tokens need ${(acc(g) / 2 ** 20).toFixed(1)} MiB per rank by the memory accounting, over the budget of ${(o.budget / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  log(`max-seq: the accounting allows N = ${accountingN} (${(acc(accountingN) / 2 ** 20).toFixed(1)} MiB per rank predicted)`);
  const steps: (ProbeResult & { accounting: number; predicted: number })[] = [];
  const run = async (N: number, predicted: number): Promise<ProbeResult> => {
    const r = await o.probe(withSeqLen(c, N));
    steps.push({ ...r, accounting: acc(N), predicted });
    log(
      `max-seq: real step at N = ${N}: measured ${(r.measured / 2 ** 20).toFixed(1)} MiB per rank, ` +
        `accounting ${(acc(N) / 2 ** 20).toFixed(1)} MiB${predicted > 0 ? `, fit ${(predicted / 2 ** 20).toFixed(1)} MiB` : ''}`,
    );
    return r;
  };
  // Two short steps, an eighth and a quarter of the accounting's length, fit what the accounting leaves out.
  const n1 = Math.max(g, Math.floor(accountingN / 8 / g) * g);
  const n2 = Math.max(2 * n1, Math.floor(accountingN / 4 / g) * g);
  const p1 = await run(n1, 0);
  const p2 = await run(n2, 0);
  // A slope below the accounting's would be noise (the accounting's buffers are all really allocated).
  const bAcc = (acc(n2) - acc(n1)) / (n2 - n1);
  const b = Math.max(bAcc, (p2.measured - p1.measured) / (n2 - n1));
  const a = p2.measured - b * n2;
  const fit = (N: number): number => a + b * N;
  let N = Math.min(accountingN, longestUnder(fit, o.budget, g));
  if (N === 0) {
    throw new ConfigError(`the measured memory (${(a / 2 ** 20).toFixed(1)} MiB before any token) leaves no room for ${g} tokens in the budget`);
  }
  for (let attempt = 0; attempt < (o.attempts ?? 3); attempt++) {
    const r = await run(N, fit(N));
    if (r.measured <= o.budget) return { budget: o.budget, accountingN, fit: { a, b }, N, steps };
    // Scale the length down by the share of the over-budget memory that is per token.
    const shrunk = Math.floor((N * (o.budget - a)) / Math.max(1, r.measured - a) / g) * g;
    N = Math.min(N - g, shrunk);
    if (N < g) break;
  }
  throw new ConfigError(`no length under ${(o.budget / 2 ** 20).toFixed(1)} MiB per rank was confirmed in ${o.attempts ?? 3} real steps`);
}

/** Reads "24GiB", "512MiB", "800M" (binary: KiB, MiB, GiB, TiB, K, M, G, T), "1.5GB" (decimal: kB, MB, GB, TB) or bytes. */
export function parseByteSize(text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?)(b?)\s*$/i.exec(text);
  if (!m) throw new ConfigError(`--mem-budget: cannot read ${JSON.stringify(text)}; write a size such as 24GiB, 512MiB, 1.5GB or a byte count`);
  const unit = m[2] ? 'kmgt'.indexOf(m[2].toLowerCase()) + 1 : 0;
  const base = m[4] && !m[3] ? 1000 : 1024;
  const bytes = Number(m[1]) * base ** unit;
  if (!(bytes > 0)) throw new ConfigError(`--mem-budget must be positive, got ${JSON.stringify(text)}`);
  return Math.floor(bytes);
}

/** The lines `ulysses train --max-seq` prints: every real step with predicted vs measured, and the answer. */
export function formatMaxSeq(c: UlyssesConfig, r: MaxSeqResult): string[] {
  const mib = (x: number): string => `${(x / 2 ** 20).toFixed(1)} MiB`;
  const lines = [
    `max-seq: ${c.model.type} d_model ${c.model.d_model}, ${c.model.n_layers} layers, dp ${c.data_parallel_size} x sp ${c.sequence_parallel_size}, ` +
      `zero stage ${c.zero_optimization.stage}, ${worldSizeOf(c)} rank(s); budget ${mib(r.budget)} per rank`,
    `  fit through the short steps: peak per rank = ${mib(r.fit.a)} + ${(r.fit.b / 1024).toFixed(2)} KiB x N`,
    '  N          accounting   fit          measured',
  ];
  for (const s of r.steps) {
    lines.push(`  ${String(s.N).padEnd(10)} ${mib(s.accounting).padEnd(12)} ${(s.predicted > 0 ? mib(s.predicted) : '-').padEnd(12)} ${mib(s.measured)}`);
  }
  lines.push(`longest sequence: ${r.N} tokens (${r.N / c.sequence_parallel_size} per sequence-parallel rank) in ${mib(r.budget)} per rank; the accounting alone allowed ${r.accountingN}`);
  return lines;
}
