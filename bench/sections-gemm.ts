// The gemm section and the GEMM peak every utilisation figure divides by. OpenBLAS picks its
// kernels from the CPU model; Debian's 0.3.21 does not know recent Xeons and falls back to an
// SSE3 ("Prescott") kernel, so the section also times the AVX-512 kernel forced through
// OPENBLAS_CORETYPE and takes the peak over both: a utilisation figure is then against what
// this machine's GEMM can really do, not against whatever core happened to be picked.
import { readFileSync } from 'node:fs';
import { noteCore, type BenchContext, type SectionOutput } from './context.js';
import type { GemmResult } from './measure-kernels.js';
import { fmt, mdTable, runWorker } from './util.js';

interface GemmRun {
  /** OpenBLAS core the worker reported. */
  core: string;
  forced: boolean;
  result: GemmResult;
}

/** The OpenBLAS core that matches this CPU's widest vector unit, or null if unsure. */
function matchingCore(): string | null {
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? [];
  if (flags.includes('avx512f') && flags.includes('avx512bw')) return 'SkylakeX';
  if (flags.includes('avx2') && flags.includes('fma')) return 'Haswell';
  return null;
}

function gemmRun(
  ctx: BenchContext, threads: number, sizes: readonly number[], seconds: number, forceCore: string | null,
): GemmRun {
  const env: Record<string, string> = forceCore === null ? {} : { OPENBLAS_CORETYPE: forceCore };
  const r = runWorker<GemmResult>('gemm', { threads, sizes: sizes.join(','), seconds }, 300, env);
  // Only the unforced runs say which core the product itself uses.
  if (forceCore === null) noteCore(ctx, r.core);
  if (!r.json) throw new Error(`gemm worker (${threads} threads) failed: ${r.failure ?? 'no output'}`);
  return { core: r.core ?? forceCore ?? 'unknown', forced: forceCore !== null, result: r.json };
}

function peakOf(r: GemmResult): number {
  return Math.max(...r.points.map((p) => p.gflops));
}

/** Unforced runs first, then the matching core forced unless the unforced runs already used it. */
function runAll(ctx: BenchContext, threadList: readonly number[], sizes: readonly number[], seconds: number): GemmRun[] {
  const runs = threadList.map((t) => gemmRun(ctx, t, sizes, seconds, null));
  const want = matchingCore();
  if (want !== null && !runs.some((r) => r.core === want)) {
    for (const t of threadList) runs.push(gemmRun(ctx, t, sizes, seconds, want));
  }
  return runs;
}

function setPeak(ctx: BenchContext, runs: readonly GemmRun[], source: 'gemm section' | 'probe'): void {
  let best: GemmRun | null = null;
  for (const r of runs) {
    if (r.result.threads !== ctx.opts.threads) continue;
    if (best === null || peakOf(r.result) > peakOf(best.result)) best = r;
  }
  if (best === null) throw new Error('gemm: no run at the benchmark thread count');
  ctx.peak = { gflops: peakOf(best.result), threads: best.result.threads, core: best.core, source };
}

function label(r: GemmRun): string {
  const t = r.result.threads;
  return `${t} thread${t > 1 ? 's' : ''}, ${r.core}${r.forced ? ' (forced)' : ''}`;
}

export function gemmSection(ctx: BenchContext): SectionOutput {
  const sizes = ctx.opts.quick ? [256, 1024] : [256, 512, 1024, 2048];
  const seconds = ctx.opts.quick ? 0.1 : 0.6;
  const threadList = [1, ctx.opts.threads].filter((t, i, a) => a.indexOf(t) === i);
  const runs = runAll(ctx, threadList, sizes, seconds);
  setPeak(ctx, runs, 'gemm section');
  const single = runs.filter((r) => r.result.threads === 1).map((r) => peakOf(r.result));
  ctx.peak1 = single.length > 0 ? Math.max(...single) : null;
  const header = ['M=N=K', ...runs.map(label)];
  const rows = sizes.map((n) => [
    String(n),
    ...runs.map((r) => {
      const p = r.result.points.find((x) => x.n === n);
      return p ? `${fmt(p.gflops)} (${fmt(p.gflopsBest)})` : '-';
    }),
  ]);
  rows.push(['**peak (median)**', ...runs.map((r) => `**${fmt(peakOf(r.result))}**`)]);
  const peak = ctx.peak;
  const md = [
    `cblas_sgemm (OpenBLAS, row-major, no transposes) through the addon, GFLOP/s from the median repetition`,
    `(best in brackets), ${fmt(seconds)} s of repetitions per size. Columns marked "forced" set OPENBLAS_CORETYPE;`,
    `the others use the core OpenBLAS detects, which is what ulysses runs with (${ctx.openblasCore ?? '?'}).`,
    peak
      ? `**Measured GEMM peak: ${fmt(peak.gflops)} GFLOP/s** (${peak.threads} threads, ${peak.core}), the largest median rate at`
      : '',
    'the benchmark thread count over all cores: the denominator of every utilisation figure below.',
    '',
    mdTable(header, rows),
  ].join('\n');
  return { name: 'gemm', markdown: md, data: runs };
}

/** The GEMM peak for utilisation figures: from the gemm section, or a short probe when it was not run. */
export function ensurePeak(ctx: BenchContext): number {
  if (!ctx.peak) {
    const sizes = ctx.opts.quick ? [1024] : [1024, 2048];
    setPeak(ctx, runAll(ctx, [ctx.opts.threads], sizes, ctx.opts.quick ? 0.1 : 0.4), 'probe');
  }
  return (ctx.peak as { gflops: number }).gflops;
}

/** The same GEMM, timed again after everything else, to see whether the machine's speed held. */
export function endProbe(ctx: BenchContext): number {
  const sizes = ctx.opts.quick ? [1024] : [1024, 2048];
  const core = ctx.peak?.core ?? null;
  const r = gemmRun(ctx, ctx.opts.threads, sizes, ctx.opts.quick ? 0.1 : 0.4, core);
  return peakOf(r.result);
}
