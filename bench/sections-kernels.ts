// The gemm and attention sections: each measurement runs in a worker process, this side
// turns the JSON into rates, ratios and a markdown table.
import { noteCore, type BenchContext, type SectionOutput } from './context.js';
import type { AttentionResult, GemmResult } from './measure-kernels.js';
import { fmt, fmtBytes, fmtN, mdTable, runWorker } from './util.js';

function gemmRun(ctx: BenchContext, threads: number, sizes: readonly number[], seconds: number): GemmResult {
  const r = runWorker<GemmResult>('gemm', { threads, sizes: sizes.join(','), seconds }, 300);
  noteCore(ctx, r.core);
  if (!r.json) throw new Error(`gemm worker (${threads} threads) failed: ${r.failure ?? 'no output'}`);
  return r.json;
}

function peakOf(r: GemmResult): number {
  return Math.max(...r.points.map((p) => p.gflops));
}

export function gemmSection(ctx: BenchContext): SectionOutput {
  const sizes = ctx.opts.quick ? [256, 1024] : [256, 512, 1024, 2048];
  const seconds = ctx.opts.quick ? 0.1 : 0.6;
  const runs = [1, ctx.opts.threads].filter((t, i, a) => a.indexOf(t) === i).map((t) => gemmRun(ctx, t, sizes, seconds));
  const header = ['M=N=K', ...runs.map((r) => `${r.threads} thread${r.threads > 1 ? 's' : ''}: GFLOP/s median (best)`)];
  const rows = sizes.map((n) => [
    String(n),
    ...runs.map((r) => {
      const p = r.points.find((x) => x.n === n);
      return p ? `${fmt(p.gflops)} (${fmt(p.gflopsBest)})` : '-';
    }),
  ]);
  rows.push(['**measured peak**', ...runs.map((r) => `**${fmt(peakOf(r))}**`)]);
  const top = runs[runs.length - 1] as GemmResult;
  ctx.peak = { gflops: peakOf(top), threads: top.threads, source: 'gemm section' };
  const md = [
    `cblas_sgemm (OpenBLAS, row-major, no transposes) through the addon; ${fmt(seconds)} s of repetitions per size,`,
    'rate from the median repetition. The measured peak (largest median rate) is the denominator of every',
    'utilisation figure below.',
    '',
    mdTable(header, rows),
  ].join('\n');
  return { name: 'gemm', markdown: md, data: runs };
}

/** The GEMM peak for utilisation figures: from the gemm section, or a short probe when it was not run. */
export function ensurePeak(ctx: BenchContext): number {
  if (!ctx.peak) {
    const r = gemmRun(ctx, ctx.opts.threads, ctx.opts.quick ? [1024] : [1024, 2048], ctx.opts.quick ? 0.1 : 0.4);
    ctx.peak = { gflops: peakOf(r), threads: r.threads, source: 'probe' };
  }
  return ctx.peak.gflops;
}

/** Causal forward FLOPs: QK^T and PV, 2*N^2*D each per head, half of them under the mask. */
export function attentionFwdFlops(B: number, H: number, N: number, D: number): number {
  return (4 * B * H * N * N * D) / 2;
}

export function attentionSection(ctx: BenchContext): SectionOutput {
  const peak = ensurePeak(ctx);
  const H = 8;
  const D = 32;
  const plan: [number, number, number][] = ctx.opts.quick
    ? [[1024, 1, 1], [2048, 1, 1]]
    : [[1024, 8, 1], [2048, 5, 1], [4096, 3, 1], [8192, 2, 1], [16384, 1, 0]];
  const results: AttentionResult[] = [];
  const rows: string[][] = [];
  for (const [N, reps, warmup] of plan) {
    process.stderr.write(`  attention N=${N} ...\n`);
    const r = runWorker<AttentionResult>('attention', { n: N, heads: H, 'head-size': D, threads: ctx.opts.threads, reps, warmup }, 600);
    noteCore(ctx, r.core);
    if (!r.json) {
      rows.push([fmtN(N), `failed: ${r.failure ?? '?'}`, '', '', '', '', '', '', '', '']);
      continue;
    }
    const a = r.json;
    results.push(a);
    const ff = attentionFwdFlops(a.B, a.H, a.N, a.D);
    const fwdRate = ff / a.fwdS / 1e9;
    const bwdRate = (2.5 * ff) / a.bwdS / 1e9;
    const allRate = (3.5 * ff) / (a.fwdS + a.bwdS) / 1e9;
    const nn4 = a.N * a.N * 4;
    ctx.attentionOfPeak.set(a.N, allRate / peak);
    rows.push([
      fmtN(a.N), fmt(a.fwdS * 1e3, 0), fmt(a.bwdS * 1e3, 0), fmt(fwdRate), fmt(bwdRate), fmt(allRate),
      `${fmt((100 * allRate) / peak, 0)}%`, fmtBytes(a.bufferBytes), fmtBytes(a.rssDeltaBytes), fmtBytes(nn4),
    ]);
  }
  const header = [
    'N', 'fwd ms', 'bwd ms', 'fwd GFLOP/s', 'bwd GFLOP/s', 'fwd+bwd GFLOP/s', 'of GEMM peak',
    'q,k,v,out,lse,dout,dq,dk,dv', 'RSS growth in kernels', 'one N×N fp32',
  ];
  const md = [
    `Fused causal attention (native addon), B=1, H=${H}, D=${D}, ${ctx.opts.threads} threads, median of the`,
    'repetitions (one warm-up call first, none at 16K). FLOP convention: forward = 4·B·H·N²·D / 2 (two matmuls,',
    'half the square under the causal mask), backward = 2.5 × forward (FlashAttention-2 convention, no',
    `recompute credited). "of GEMM peak" = fwd+bwd rate / ${fmt(peak)} GFLOP/s (${ctx.peak?.source ?? ''}).`,
    '"RSS growth in kernels" is the peak RSS above the RSS once all listed buffers were filled; a kernel',
    'that built one N×N fp32 score matrix would show at least the last column.',
    '',
    mdTable(header, rows),
  ].join('\n');
  return { name: 'attention', markdown: md, data: { peakGflops: peak, results } };
}
