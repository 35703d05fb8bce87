// The attention section: fused causal attention forward and backward per length, each in a
// worker process; this side turns the JSON into rates, a share of the GEMM peak and memory.
import { noteCore, type BenchContext, type SectionOutput } from './context.js';
import type { AttentionResult } from './measure-kernels.js';
import { ensurePeak } from './sections-gemm.js';
import { fmt, fmtBytes, fmtN, mdTable, runWorker } from './util.js';

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
    `recompute credited). "of GEMM peak" = fwd+bwd rate / ${fmt(peak)} GFLOP/s (${ctx.peak?.core ?? ''}, ${ctx.peak?.source ?? ''}).`,
    '"RSS growth in kernels" is the peak RSS above the RSS once all listed buffers were filled; a kernel',
    'that built one N×N fp32 score matrix would show at least the last column.',
    '',
    mdTable(header, rows),
  ].join('\n');
  return { name: 'attention', markdown: md, data: { peakGflops: peak, results } };
}
