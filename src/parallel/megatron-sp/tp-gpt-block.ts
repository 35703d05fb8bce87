// One GPT-2 block under Megatron-LM tensor + sequence parallelism. The residual stream, the layer
// norms and the row-parallel biases see this rank's tokens only; the layer-norm output is
// all-gathered to the whole sequence, which the column-parallel c_attn / c_fc (this rank's heads
// and MLP columns) and attention over the full sequence consume; the row-parallel c_proj gives
// partial sums that a reduce-scatter adds up and hands back as this rank's tokens. Backward runs
// the mirror: all-gather of the output gradient, reduce-scatter of the input gradient. With R > 0
// the MLP runs in R-row tiles of the gathered tokens (tp-mlp.ts), so its [Nf, f] activations
// are never kept.
//
// Shape legend: B = batch, N = full sequence, n = tokens this rank holds, Nl = B*n, Nf = B*N,
// C = d_model, h = H/P local heads, D = C/H, hD = h*D, f = F/P local MLP width, R = rows of an
// MLP tile (0: whole).
import type { AttentionCore, AttentionSaved } from '../../attention/attention-core.js';
import type { AttentionMaskSpec, Kernels } from '../../kernels/kernels.js';
import type { SavedArrays } from '../../nn/bf16-stash.js';
import { allocGptMlpScratch, gptMlpScratchFloats, type GptMlpScratch } from '../../nn/gpt-mlp.js';
import { bias_backward, conv1d_backward_input, conv1d_backward_weight, conv1d_forward } from '../../nn/linear.js';
import type { GptBlockWeights } from '../../nn/gpt-block.js';
import type { SequenceCollectives } from './sequence-collectives.js';
import { tp_gpt_mlp_backward_tiled, tp_gpt_mlp_forward_tiled } from './tp-mlp.js';

/** Local shapes of GptBlockWeights on a tp rank: qkvw [C, 3hD], qkvb [3hD], attprojw [hD, C], fcw [C, f], fcb [f], fcprojw [f, C]. */
export type TpGptBlockWeights = GptBlockWeights;

export interface TpGptDims {
  B: number;
  N: number;
  n: number;
  C: number;
  h: number;
  D: number;
  f: number;
  eps: number;
  /** Rows of Nf per MLP tile; 0 = the whole gathered sequence at once. */
  R: number;
}

/** What one block keeps from forward for backward. */
export interface TpGptBlockActs {
  ln1Mean: Float32Array; // [Nl]
  ln1Rstd: Float32Array; // [Nl]
  ln1Full: Float32Array; // [Nf, C] gathered ln_1 output
  q: Float32Array; // [B, N, h, D]
  k: Float32Array; // [B, N, h, D]
  v: Float32Array; // [B, N, h, D]
  atty: Float32Array; // [B, N, h, D]
  saved: AttentionSaved | null;
  resMid: Float32Array; // [Nl, C]
  ln2Mean: Float32Array; // [Nl]
  ln2Rstd: Float32Array; // [Nl]
  ln2Full: Float32Array; // [Nf, C]
  fch: Float32Array; // [Nf, f] ([0] when the MLP is tiled)
  fchGelu: Float32Array; // [Nf, f] ([0] when the MLP is tiled)
  resOut: Float32Array; // [Nl, C]
}

export function allocTpGptBlockActs(d: TpGptDims): TpGptBlockActs {
  const Nl = d.B * d.n;
  const Nf = d.B * d.N;
  const hD = d.h * d.D;
  return {
    ln1Mean: new Float32Array(Nl), ln1Rstd: new Float32Array(Nl), ln1Full: new Float32Array(Nf * d.C),
    q: new Float32Array(Nf * hD), k: new Float32Array(Nf * hD), v: new Float32Array(Nf * hD), atty: new Float32Array(Nf * hD),
    saved: null, resMid: new Float32Array(Nl * d.C),
    ln2Mean: new Float32Array(Nl), ln2Rstd: new Float32Array(Nl), ln2Full: new Float32Array(Nf * d.C),
    fch: new Float32Array(d.R > 0 ? 0 : Nf * d.f), fchGelu: new Float32Array(d.R > 0 ? 0 : Nf * d.f), resOut: new Float32Array(Nl * d.C),
  };
}

/** The arrays bf16 storage rounds (big) or copies (small): what the block's backward reads. */
export function tpGptBlockSavedArrays(a: TpGptBlockActs): SavedArrays {
  return {
    big: [a.ln1Full, a.q, a.k, a.v, a.atty, a.resMid, a.ln2Full, a.fch, a.fchGelu],
    small: [a.ln1Mean, a.ln1Rstd, a.ln2Mean, a.ln2Rstd],
  };
}

/** Floats of one block's activations (saved: what bf16 storage rounds, big, or copies, small) and of the shared scratch. */
export function tpGptBlockFloats(d: TpGptDims): { acts: number; big: number; small: number; scratch: number } {
  const Nl = d.B * d.n;
  const Nf = d.B * d.N;
  const hD = d.h * d.D;
  const big = 2 * Nf * d.C + 4 * Nf * hD + Nl * d.C + (d.R > 0 ? 0 : 2 * Nf * d.f);
  const small = 4 * Nl;
  const scratch = 2 * Nl * d.C + 2 * Nf * d.C + 4 * Nf * hD + gptMlpScratchFloats(Nf, d.f, d.R);
  return { acts: big + small + Nl * d.C, big, small, scratch };
}

/** Scratch shared by all blocks (each use overwrites it). */
export interface TpGptBlockScratch {
  ln: Float32Array; // [Nl, C] layer-norm output before the gather
  part: Float32Array; // [Nl, C] reduce-scattered branch output, or the input gradient of a norm
  full: Float32Array; // [Nf, C] partial sums before reduce-scatter, or a gathered output gradient
  dlnFull: Float32Array; // [Nf, C] partial input gradient of the column-parallel layers
  dq: Float32Array; // [B, N, h, D]
  dk: Float32Array; // [B, N, h, D]
  dv: Float32Array; // [B, N, h, D]
  datty: Float32Array; // [B, N, h, D]
  mlp: GptMlpScratch; // dfch, dfchGelu [Nf, f] whole or [R, f] tiled; fch, fchGelu [R, f] tiled
}

export function allocTpGptBlockScratch(d: TpGptDims): TpGptBlockScratch {
  const Nl = d.B * d.n;
  const Nf = d.B * d.N;
  const hD = d.h * d.D;
  return {
    ln: new Float32Array(Nl * d.C), part: new Float32Array(Nl * d.C),
    full: new Float32Array(Nf * d.C), dlnFull: new Float32Array(Nf * d.C),
    dq: new Float32Array(Nf * hD), dk: new Float32Array(Nf * hD), dv: new Float32Array(Nf * hD), datty: new Float32Array(Nf * hD),
    mlp: allocGptMlpScratch(Nf, d.f, d.R),
  };
}

/** out[Nl, C] = resid + part + bias[C] (the row-parallel bias is added once, after the reduction). */
function add_bias_residual(out: Float32Array, resid: Float32Array, part: Float32Array, bias: Float32Array, Nl: number, C: number): void {
  for (let t = 0; t < Nl; t++) {
    const o = t * C;
    for (let c = 0; c < C; c++) out[o + c] = (resid[o + c] as number) + (part[o + c] as number) + (bias[c] as number);
  }
}

/** full[Nf, C] = inp[Nf, IN] @ weight[IN, C], the partial sum of a row-parallel projection. */
function row_parallel_forward(k: Kernels, full: Float32Array, inp: Float32Array, weight: Float32Array, Nf: number, IN: number, C: number): void {
  full.fill(0, 0, Nf * C);
  k.sgemm(false, false, Nf, C, IN, 1, inp, IN, weight, C, 1, full, C);
}

/** a.resOut[Nl, C] = block(inp[Nl, C]) on this rank's tokens; keeps activations in a. */
export function tp_gpt_block_forward(
  k: Kernels, core: AttentionCore, seq: SequenceCollectives, w: TpGptBlockWeights, a: TpGptBlockActs, s: TpGptBlockScratch,
  inp: Float32Array, d: TpGptDims, mask: AttentionMaskSpec,
): void {
  const { B, N, C, h, D, f, eps } = d;
  const Nl = B * d.n;
  const Nf = B * N;
  const hD = h * D;
  k.layernorm_forward(s.ln, a.ln1Mean, a.ln1Rstd, inp, w.ln1w, w.ln1b, Nl, C, eps);
  seq.allGather(s.ln, a.ln1Full, B, C);
  // This rank's c_attn slice [C, 3hD] is its q, k and v columns side by side.
  conv1d_forward(k, a.q, a.ln1Full, w.qkvw, w.qkvb.subarray(0, hD), Nf, C, hD, 3 * hD);
  conv1d_forward(k, a.k, a.ln1Full, w.qkvw.subarray(hD), w.qkvb.subarray(hD, 2 * hD), Nf, C, hD, 3 * hD);
  conv1d_forward(k, a.v, a.ln1Full, w.qkvw.subarray(2 * hD), w.qkvb.subarray(2 * hD), Nf, C, hD, 3 * hD);
  a.saved = core.forward(a.atty, a.q, a.k, a.v, { B, T: N, H: h, Hkv: h, D }, mask);
  row_parallel_forward(k, s.full, a.atty, w.attprojw, Nf, hD, C);
  seq.reduceScatter(s.full, s.part, B, C);
  add_bias_residual(a.resMid, inp, s.part, w.attprojb, Nl, C);
  k.layernorm_forward(s.ln, a.ln2Mean, a.ln2Rstd, a.resMid, w.ln2w, w.ln2b, Nl, C, eps);
  seq.allGather(s.ln, a.ln2Full, B, C);
  if (d.R > 0) {
    tp_gpt_mlp_forward_tiled(k, w, s.full, a.ln2Full, s.mlp, Nf, C, f, d.R);
  } else {
    conv1d_forward(k, a.fch, a.ln2Full, w.fcw, w.fcb, Nf, C, f);
    k.gelu_forward(a.fchGelu, a.fch, Nf * f);
    row_parallel_forward(k, s.full, a.fchGelu, w.fcprojw, Nf, f, C);
  }
  seq.reduceScatter(s.full, s.part, B, C);
  add_bias_residual(a.resOut, a.resMid, s.part, w.fcprojb, Nl, C);
}

/**
 * Backward through one block: dres[Nl, C] holds d(block output) on entry and d(block input) on
 * exit; adds into g (sharded gradients complete over the sequence, replicated ones this rank's
 * tokens' share).
 */
export function tp_gpt_block_backward(
  k: Kernels, core: AttentionCore, seq: SequenceCollectives, w: TpGptBlockWeights, g: TpGptBlockWeights,
  a: TpGptBlockActs, s: TpGptBlockScratch, dres: Float32Array, inp: Float32Array, d: TpGptDims,
): void {
  const { B, N, C, h, D, f } = d;
  const Nl = B * d.n;
  const Nf = B * N;
  const hD = h * D;
  if (!a.saved) throw new Error('tp gpt block: backward called before forward');
  // MLP branch.
  bias_backward(k, g.fcprojb, dres, Nl, C);
  seq.allGather(dres, s.full, B, C);
  s.dlnFull.fill(0);
  if (d.R > 0) {
    // Tiles add their weight gradients as they go, so nothing is left to overlap the reduce-scatter with.
    tp_gpt_mlp_backward_tiled(k, w, g, s.dlnFull, s.full, a.ln2Full, s.mlp, Nf, C, f, d.R);
    seq.reduceScatter(s.dlnFull, s.part, B, C);
  } else {
    const m = s.mlp;
    m.dfchGelu.fill(0);
    conv1d_backward_input(k, m.dfchGelu, s.full, w.fcprojw, Nf, f, C);
    k.sgemm(true, false, f, C, Nf, 1, a.fchGelu, f, s.full, C, 1, g.fcprojw, C);
    m.dfch.fill(0);
    k.gelu_backward(m.dfch, m.dfchGelu, a.fch, Nf * f);
    conv1d_backward_input(k, s.dlnFull, m.dfch, w.fcw, Nf, C, f);
    // The input gradient's reduce-scatter runs while c_fc's weight gradient is computed.
    const fcRs = seq.reduceScatterAsync(s.dlnFull, s.part, B, C);
    conv1d_backward_weight(k, g.fcw, g.fcb, m.dfch, a.ln2Full, Nf, C, f);
    fcRs.waitSync();
  }
  k.layernorm_backward(dres, g.ln2w, g.ln2b, s.part, a.resMid, w.ln2w, a.ln2Mean, a.ln2Rstd, Nl, C);
  // Attention branch.
  bias_backward(k, g.attprojb, dres, Nl, C);
  seq.allGather(dres, s.full, B, C);
  s.datty.fill(0);
  conv1d_backward_input(k, s.datty, s.full, w.attprojw, Nf, hD, C);
  k.sgemm(true, false, hD, C, Nf, 1, a.atty, hD, s.full, C, 1, g.attprojw, C);
  core.backward(s.dq, s.dk, s.dv, s.datty, a.saved);
  s.dlnFull.fill(0);
  const dqkv = [s.dq, s.dk, s.dv];
  dqkv.forEach((dx, j) => conv1d_backward_input(k, s.dlnFull, dx, w.qkvw.subarray(j * hD), Nf, C, hD, 3 * hD));
  // The input gradient's reduce-scatter runs while c_attn's weight gradients are computed.
  const qkvRs = seq.reduceScatterAsync(s.dlnFull, s.part, B, C);
  dqkv.forEach((dx, j) => {
    conv1d_backward_weight(k, g.qkvw.subarray(j * hD), g.qkvb.subarray(j * hD, (j + 1) * hD), dx, a.ln1Full, Nf, C, hD, 3 * hD);
  });
  qkvRs.waitSync();
  k.layernorm_backward(dres, g.ln1w, g.ln1b, s.part, inp, w.ln1w, a.ln1Mean, a.ln1Rstd, Nl, C);
}
