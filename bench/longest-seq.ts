// Longest trainable sequence of the reference model (issue 6, last target; issue 7, "longer
// feasible sequences"), from real training steps, each in its own child process:
//  1. peak memory per rank at several N for (a) one worker plain, (b) one worker with the memory
//     toolkit, (c) sp = 4 with ZeRO-3 and the toolkit; a least-squares line a + b·(N/P), its
//     residuals, the longest N within 24 GiB per rank by the line and by the accounting alone,
//     and a longer real step (held out of the fit) that checks the line's prediction;
//  2. the strategies at P = 4 under one small equal budget per rank, each one's longest N found by
//     `ulysses train --max-seq` (confirmed by a real step), and the ratios to Megatron-SP.
//
//   node dist/bench/longest-seq.js [--quick] [--budget 512MiB] [--out docs/bench] [--only fit|budget]
//       [--fit-a 2048,4096,...] [--confirm-a 32768] (likewise -b, -c) [--timeout 900]
//   node dist/bench/longest-seq.js --report-only [--out docs/bench]   (markdown and charts from the JSON)
//   node dist/bench/longest-seq.js --add-step c:65536 [--out docs/bench]
//       one more held-out real step for a fitted setup, added to the existing longest-seq.json
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseByteSize } from '../src/train/max-seq.js';
import { longestInBudget, type BudgetRow } from './longest-seq-budget.js';
import { BUDGET_SETUPS, FIT_SETUPS, setupConfig, type Setup } from './longest-seq-configs.js';
import { accountingLimit, fitLimit, fitLine, type LineFit } from './longest-seq-fit.js';
import { writeLongestSeqReport } from './longest-seq-report.js';
import { runStep, type StepOutcome } from './longest-seq-step.js';

const GIB24 = 24 * 2 ** 30;
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');

function arg(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function intList(name: string, fallback: readonly number[]): number[] {
  const v = arg(name);
  if (v === undefined) return [...fallback];
  const xs = v.split(',').map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`--${name}: expected positive integers, e.g. 2048,4096; got ${v}`);
  return xs;
}

/** Fit lengths and the held-out confirming length per setup (full run; --quick scales them down). */
const PLAN: Record<string, { fit: number[]; confirm: number }> = quick
  ? { a: { fit: [256, 512], confirm: 1024 }, b: { fit: [256, 512], confirm: 1024 }, c: { fit: [256, 512], confirm: 1024 } }
  : { a: { fit: [2048, 4096, 8192, 16384], confirm: 32768 }, b: { fit: [2048, 4096, 8192, 16384], confirm: 32768 }, c: { fit: [4096, 8192, 16384], confirm: 32768 } };

export interface FitSection {
  readonly key: string;
  readonly label: string;
  readonly P: number;
  readonly steps: readonly StepOutcome[];
  readonly fitNs: readonly number[];
  /** Held-out lengths, longer than the fit's. */
  readonly confirmNs: number[];
  readonly fit: LineFit | null;
  /** The confirming steps' measured per-rank peaks against the line's prediction. */
  readonly confirms: Confirm[];
  readonly limit24: { fitN: number | null; accountingN: number };
}

export interface Confirm {
  N: number;
  measured: number;
  predicted: number;
  rel: number;
  stepS: number;
  wallS: number;
}

export interface LongestSeqResult {
  readonly date: string;
  readonly command: string;
  readonly quick: boolean;
  readonly machine: { cpus: number; model: string; memGiB: number; node: string; loadStart: number; loadEnd: number };
  readonly fits: FitSection[];
  readonly bf16Check: { N: number; withBf16: number | null; withoutBf16: number | null } | null;
  readonly budget: { bytes: number; rows: BudgetRow[] } | null;
  readonly wallS: number;
}

const log = (l: string): void => console.log(l);
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

function stepOnce(s: Setup, N: number, timeoutS: number): StepOutcome {
  const o = runStep(s, N, timeoutS);
  if (o.ok) {
    log(`  ${s.key} N=${N}: peak ${mib(o.r.processPeak)} process, ${mib(o.r.perRank)} per rank (accounting ${mib(o.r.accounting)}); step ${o.r.stepS.toFixed(1)} s, child ${o.r.wallS.toFixed(1)} s`);
  } else {
    log(`  ${s.key} N=${N}: failed after ${o.wallS.toFixed(0)} s: ${o.error}`);
  }
  return o;
}

function fitSection(s: Setup, timeoutS: number): FitSection {
  const plan = PLAN[s.key] as { fit: number[]; confirm: number };
  const fitNs = intList(`fit-${s.key}`, plan.fit);
  const confirmN = intList(`confirm-${s.key}`, [plan.confirm])[0] as number;
  log(`${s.label}: fit at N = ${fitNs.join(', ')}, confirm at N = ${confirmN}`);
  const steps = fitNs.map((N) => stepOnce(s, N, timeoutS));
  const ok = steps.flatMap((o) => (o.ok ? [o.r] : []));
  const fit = ok.length >= 2 ? fitLine(ok.map((r) => [r.x, r.perRank] as const)) : null;
  const confirms: Confirm[] = [];
  const co = stepOnce(s, confirmN, timeoutS);
  steps.push(co);
  const cf = confirmOf(co, fit);
  if (cf) confirms.push(cf);
  const base = setupConfig(s, fitNs[0] as number, '/tmp');
  const limit24 = { fitN: fit ? fitLimit(fit, s.P, GIB24) : null, accountingN: accountingLimit(base, s.P, GIB24) };
  if (fit) {
    log(`  fit: ${mib(fit.a)} + ${(fit.b / 1024).toFixed(2)} KiB x N/P, max |residual| ${(100 * fit.maxRelResidual).toFixed(2)}%; ` +
      `24 GiB per rank: N = ${limit24.fitN} by the fit, ${limit24.accountingN} by the accounting alone`);
  }
  return { key: s.key, label: s.label, P: s.P, steps, fitNs, confirmNs: [confirmN], fit, confirms, limit24 };
}

function confirmOf(o: StepOutcome, fit: LineFit | null): Confirm | null {
  if (!o.ok || !fit) return null;
  const predicted = fit.a + fit.b * o.r.x;
  return { N: o.r.N, measured: o.r.perRank, predicted, rel: (o.r.perRank - predicted) / o.r.perRank, stepS: o.r.stepS, wallS: o.r.wallS };
}

/** --add-step KEY:N: one more held-out step for a fitted setup, added to the JSON of an earlier run. */
function addStep(spec: string, out: string, timeoutS: number): void {
  const [key, n] = spec.split(':');
  const s = FIT_SETUPS.find((x) => x.key === key);
  const N = Number(n);
  if (!s || !Number.isInteger(N) || N < 1) throw new Error(`--add-step: expected KEY:N with KEY one of ${FIT_SETUPS.map((x) => x.key).join(', ')}, got ${spec}`);
  const path = join(out, 'longest-seq.json');
  const r = JSON.parse(readFileSync(path, 'utf8')) as LongestSeqResult;
  const f = r.fits.find((x) => x.key === key);
  if (!f) throw new Error(`--add-step: ${path} has no fit for setup ${key}`);
  const t0 = performance.now();
  const o = stepOnce(s, N, timeoutS);
  (f.steps as StepOutcome[]).push(o);
  f.confirmNs.push(N);
  const cf = confirmOf(o, f.fit);
  if (cf) f.confirms.push(cf);
  const added = { ...r, command: `${r.command}; then node dist/bench/longest-seq.js --add-step ${spec}`, wallS: r.wallS + (performance.now() - t0) / 1000 };
  writeFileSync(path, `${JSON.stringify(added, null, 1)}\n`);
  log(`added to ${path}; rewrote ${writeLongestSeqReport(added, out)}`);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const loadStart = loadavg()[0] ?? 0;
  const only = arg('only');
  const timeoutS = Number(arg('timeout') ?? (quick ? 120 : 900));
  const out = arg('out') ?? (quick ? null : 'docs/bench');
  const budgetBytes = parseByteSize(arg('budget') ?? (quick ? '160MiB' : '512MiB'));
  if (argv.includes('--report-only')) {
    const dir = out ?? 'docs/bench';
    const r = JSON.parse(readFileSync(join(dir, 'longest-seq.json'), 'utf8')) as LongestSeqResult;
    log(`rewrote ${writeLongestSeqReport(r, dir)} from ${join(dir, 'longest-seq.json')}`);
    return;
  }
  const merge = arg('merge-budget');
  if (merge !== undefined) {
    // Budget rows of another run (same budget) replace this run's rows of the same strategies; new ones are added.
    const dir = out ?? 'docs/bench';
    const path = join(dir, 'longest-seq.json');
    const r = JSON.parse(readFileSync(path, 'utf8')) as LongestSeqResult;
    const o = JSON.parse(readFileSync(merge, 'utf8')) as LongestSeqResult;
    if (!r.budget || !o.budget || r.budget.bytes !== o.budget.bytes) throw new Error('--merge-budget: both runs need a budget section with the same budget');
    const rows = [
      ...r.budget.rows.map((x) => o.budget?.rows.find((y) => y.key === x.key) ?? x),
      ...o.budget.rows.filter((y) => !r.budget?.rows.some((x) => x.key === y.key)),
    ];
    const merged = { ...r, budget: { bytes: r.budget.bytes, rows }, command: `${r.command}; rows ${o.budget.rows.map((x) => x.key).join(', ')} from \`${o.command}\``, wallS: r.wallS };
    writeFileSync(path, `${JSON.stringify(merged, null, 1)}\n`);
    log(`merged into ${path}; rewrote ${writeLongestSeqReport(merged, dir)}`);
    return;
  }
  const add = arg('add-step');
  if (add !== undefined) {
    addStep(add, out ?? 'docs/bench', timeoutS);
    return;
  }
  const fits: FitSection[] = [];
  let bf16Check: LongestSeqResult['bf16Check'] = null;
  let budget: LongestSeqResult['budget'] = null;
  if (only === undefined || only === 'fit') {
    for (const s of FIT_SETUPS) fits.push(fitSection(s, timeoutS));
  }
  if (!quick && (only === undefined || only === 'fit')) {
    // Does bf16 storage of the saved activations help? The toolkit without it, at (b)'s longest fit length.
    const b = FIT_SETUPS[1] as Setup;
    const N = Math.max(...(fits[1]?.fitNs ?? [1024]));
    log(`bf16 check: (b) without bf16 saved activations at N = ${N}`);
    const without = stepOnce({ ...b, key: 'b-fp32', label: '(b) without bf16', bf16: false }, N, timeoutS);
    const withStep = fits[1]?.steps.find((o) => o.ok && o.r.N === N);
    bf16Check = { N, withBf16: withStep?.ok ? withStep.r.perRank : null, withoutBf16: without.ok ? without.r.perRank : null };
  }
  if (only === undefined || only === 'budget') {
    const pick = arg('setups')?.split(',');
    const setups = quick ? BUDGET_SETUPS.filter((s) => s.key === 'megatron') : BUDGET_SETUPS.filter((s) => !pick || pick.includes(s.key));
    log(`budget comparison at P = 4, ${mib(budgetBytes)} per rank: ${setups.map((s) => s.key).join(', ')}`);
    const rows: BudgetRow[] = [];
    for (const s of setups) rows.push(await longestInBudget(s, budgetBytes, log));
    budget = { bytes: budgetBytes, rows };
  }
  const result: LongestSeqResult = {
    date: new Date().toISOString(),
    command: `node dist/bench/longest-seq.js ${argv.join(' ')}`.trim(),
    quick,
    machine: {
      cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memGiB: totalmem() / 2 ** 30, node: process.version,
      loadStart, loadEnd: loadavg()[0] ?? 0,
    },
    fits, bf16Check, budget,
    wallS: (performance.now() - t0) / 1000,
  };
  if (out !== null) {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'longest-seq.json'), `${JSON.stringify(result, null, 1)}\n`);
    const md = writeLongestSeqReport(result, out);
    log(`wrote ${join(out, 'longest-seq.json')}, ${md} and its charts`);
  }
  log(`done in ${(result.wallS / 60).toFixed(1)} min`);
}

await main();
