// `node dist/bench/attention-variants.js [--n 4096,8192,16384,32768,65536] [--P 1,4] [--heads 8]
//   [--d 32] [--block 64] [--threads 2] [--reps 2] [--clock cpu|wall]`
//
// Times fused causal attention forward + backward in its sparse variants (attention-variant-specs.ts)
// against dense flash, on one worker and under Ulysses at P ranks (threads backend, the job's
// threads split over the ranks), and records each run's memory. Every (N, P, variant) runs in a
// fresh child process, so its peak RSS above the child's starting RSS is that run's memory alone:
// inputs, outputs, gradients, the kernels' scratch and, under Ulysses, the all-to-all buffers.
// An N x N fp32 score matrix per head would be 16 GiB at N = 64K, so the memory column shows none
// exists. Writes docs/bench/attention-variants.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attentionVariants } from './attention-variant-specs.js';
import type { VariantArgs, VariantRankResult } from './attention-variants-rank.js';
import { distBenchDir, fmt, fmtBytes, fmtN, mdTable, parseOpts, repoRoot, runJsonChild } from './util.js';

interface ChildOut {
  P: number;
  ranks: VariantRankResult[];
  baselineRssBytes: number;
  peakRssBytes: number;
}

interface Run {
  N: number;
  P: number;
  variant: string;
  kept: number;
  /** Slowest rank of the fastest round, seconds. */
  fwdS: number;
  bwdS: number;
  /** CPU seconds of all ranks together, fastest round. */
  cpuS: number;
  /** Peak RSS of the child above its starting RSS, all P ranks together. */
  memBytes: number;
  bytesSentPerRank: number;
}

/** The slowest rank's time in each round, then the fastest round. */
function bestRound(ranks: readonly VariantRankResult[], pick: (r: VariantRankResult) => number[]): number {
  const rounds = (ranks[0] as VariantRankResult).fwdS.length;
  let best = Infinity;
  for (let i = 0; i < rounds; i++) best = Math.min(best, Math.max(...ranks.map((r) => pick(r)[i] as number)));
  return best;
}

/** Rank 0's record of the whole process's CPU time, fastest round. */
function bestCpuRound(r0: VariantRankResult): number {
  return Math.min(...r0.fwdCpuS.map((f, i) => f + (r0.bwdCpuS[i] as number)));
}

function main(): void {
  const opts = parseOpts(process.argv.slice(2));
  const sizes = (opts.get('n') ?? '4096,8192,16384,32768,65536').split(',').map(Number);
  const Ps = (opts.get('P') ?? '1,4').split(',').map(Number);
  const H = Number(opts.get('heads') ?? 8);
  const D = Number(opts.get('d') ?? 32);
  const blockSize = Number(opts.get('block') ?? 64);
  const threads = Number(opts.get('threads') ?? 2);
  const reps = Number(opts.get('reps') ?? 2);
  const head = `attention variants: B=1, H=${H}, D=${D}, causal, block size ${blockSize}, ${threads} kernel threads per job ` +
    `(split over the ranks), fastest of ${reps} rounds after 1 warm-up; wall time is the slowest rank's, CPU time the whole process's`;
  console.log(head);
  const runs: Run[] = [];
  for (const N of sizes) {
    const specs = attentionVariants(N, blockSize);
    for (const P of Ps) {
      specs.forEach((spec, variant) => {
        const args: VariantArgs = { N, H, D, blockSize, variant, threads, reps };
        const r = runJsonChild<ChildOut>(process.execPath, [join(distBenchDir, 'attention-variants-child.js'), String(P), JSON.stringify(args)], 1800);
        if (!r.json) throw new Error(`attention-variants N=${N} P=${P} ${spec.name} failed: ${r.failure ?? 'no output'}`);
        const run: Run = {
          N, P, variant: spec.name, kept: spec.kept,
          fwdS: bestRound(r.json.ranks, (x) => x.fwdS), bwdS: bestRound(r.json.ranks, (x) => x.bwdS),
          cpuS: bestCpuRound(r.json.ranks[0] as VariantRankResult),
          memBytes: r.json.peakRssBytes - r.json.baselineRssBytes,
          bytesSentPerRank: Math.max(...r.json.ranks.map((x) => x.bytesSent)),
        };
        runs.push(run);
        console.log(`N=${fmtN(N)} P=${P} ${spec.name}: ${fmt((run.fwdS + run.bwdS) * 1e3, 0)} ms wall, ${fmt(run.cpuS * 1e3, 0)} ms CPU, memory ${fmtBytes(run.memBytes)}`);
      });
    }
  }
  const clock = opts.get('clock') ?? 'cpu';
  const md = report(head, runs, sizes, Ps, H, D, clock === 'wall' ? (r) => r.fwdS + r.bwdS : (r) => r.cpuS, clock);
  console.log(`\n${md}`);
  const outDir = join(repoRoot, 'docs', 'bench');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'attention-variants.json'), `${JSON.stringify({ H, D, blockSize, threads, reps, runs }, null, 1)}\n`);
  writeFileSync(join(outDir, 'attention-variants.md'), `${md}\n`);
}

/** Per P: time / dense (and its ratio to the share kept) by N; then memory and the P-way ratios. */
function report(
  head: string, runs: readonly Run[], sizes: readonly number[], Ps: readonly number[], H: number, D: number,
  time: (r: Run) => number, clock: string,
): string {
  const find = (N: number, P: number, v: string): Run | undefined => runs.find((r) => r.N === N && r.P === P && r.variant === v);
  const names = [...new Set(runs.map((r) => r.variant))];
  const cols = sizes.map((N) => `N=${fmtN(N)}`);
  const parts = [head];
  for (const P of Ps) {
    const rows = names.map((v) => [v, ...sizes.map((N) => {
      const r = find(N, P, v);
      const dense = find(N, P, 'dense flash');
      if (!r || !dense) return '-';
      const t = time(r);
      if (v === 'dense flash') return `${fmt(t * 1e3, 0)} ms`;
      const ratio = t / time(dense);
      return `${fmt(ratio, 3)} (${fmt(ratio / r.kept, 2)})`;
    })]);
    parts.push(`\n${P === 1 ? 'One worker' : `Ulysses, P = ${P}`}: forward + backward, ${clock === 'wall' ? 'wall time' : 'CPU time of all ranks'}; ` +
      'dense in ms, the others as time / dense (that ÷ share kept)\n');
    parts.push(mdTable(['variant', ...cols], rows));
  }
  const memRows = names.flatMap((v) => Ps.map((P) => [`${v}, P=${P}`, ...sizes.map((N) => {
    const r = find(N, P, v);
    return r ? fmtBytes(r.memBytes) : '-';
  })]));
  const io = sizes.map((N) => fmtBytes(8 * N * H * D * 4)).join(', ');
  parts.push(`\nMemory: peak RSS of the run above its start, all P ranks of the process together (worker threads ` +
    `cost a fixed amount each). For scale, the eight [N, H, D] fp32 buffers of q, k, v, out and their gradients are ${io}.\n`);
  parts.push(mdTable(['variant', ...cols], memRows));
  if (Ps.length > 1) {
    const [P0, P1] = [Ps[0] as number, Ps[Ps.length - 1] as number];
    const rows = names.map((v) => [v, ...sizes.map((N) => {
      const a = find(N, P0, v);
      const b = find(N, P1, v);
      return a && b ? fmt(time(b) / time(a), 2) : '-';
    })]);
    parts.push(`\n${clock === 'wall' ? 'Wall' : 'CPU'} time at P = ${P1} ÷ at P = ${P0} on the same cores (all-to-alls included)\n`);
    parts.push(mdTable(['variant', ...cols], rows));
  }
  return parts.join('\n');
}

main();
