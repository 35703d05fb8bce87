// One Llama decoder layer under Megatron-LM tensor + sequence parallelism: RMSNorm and the
// residual stream on this rank's tokens; the norm output all-gathered to the whole sequence for
// the column-parallel q/k/v (this rank's query and kv heads, RoPE at the gathered positions) and
// gate/up (its MLP rows); the row-parallel o_proj and down_proj give partial sums that a
// reduce-scatter adds up into this rank's tokens. Backward mirrors it. With R > 0 the MLP runs in
// R-row tiles of the gathered tokens (tp-mlp.ts), so its [Nf, f] activations are never kept.
//
// Shape legend: B = batch, N = full sequence, n = tokens this rank holds, Nl = B*n, Nf = B*N,
// C = d_model, h = H/P local query heads, hkv = Hkv/P local kv heads, D = C/H, hD = h*D,
// kvD = hkv*D, f = F/P local MLP width, R = rows of an MLP tile (0: whole).
import type { AttentionCore, AttentionSaved } from '../../attention/attention-core.js';
import type { AttentionMaskSpec, Kernels } from '../../kernels/kernels.js';
import type { SavedArrays } from '../../nn/bf16-stash.js';
import { allocLlamaMlpScratch, llamaMlpScratchFloats, type LlamaMlpScratch } from '../../nn/llama-mlp.js';
import { linear_backward_input, linear_backward_weight, linear_forward } from '../../nn/linear.js';
import type { LlamaBlockWeights } from '../../nn/llama-block.js';
import type { SequenceCollectives } from './sequence-collectives.js';
import { tp_llama_mlp_backward_tiled, tp_llama_mlp_forward_tiled } from './tp-mlp.js';

/** Local shapes of LlamaBlockWeights on a tp rank: qw [hD, C], kw / vw [kvD, C], ow [C, hD], gatew / upw [f, C], downw [C, f]. */
export type TpLlamaBlockWeights = LlamaBlockWeights;

export interface TpLlamaDims {
  B: number;
  N: number;
  n: number;
  C: number;
  h: number;
  hkv: number;
  D: number;
  f: number;
  eps: number;
  theta: number;
  /** Rows of Nf per MLP tile; 0 = the whole gathered sequence at once. */
  R: number;
}

export interface TpLlamaBlockActs {
  ln1Rstd: Float32Array; // [Nl]
  ln1Full: Float32Array; // [Nf, C]
  q: Float32Array; // [B, N, h, D] after RoPE
  k: Float32Array; // [B, N, hkv, D] after RoPE
  v: Float32Array; // [B, N, hkv, D]
  atty: Float32Array; // [B, N, h, D]
  saved: AttentionSaved | null;
  resMid: Float32Array; // [Nl, C]
  ln2Rstd: Float32Array; // [Nl]
  ln2Full: Float32Array; // [Nf, C]
  gate: Float32Array; // [Nf, f] ([0] when the MLP is tiled)
  up: Float32Array; // [Nf, f] ([0] when the MLP is tiled)
  hswi: Float32Array; // [Nf, f] ([0] when the MLP is tiled)
  resOut: Float32Array; // [Nl, C]
}

export function allocTpLlamaBlockActs(d: TpLlamaDims): TpLlamaBlockActs {
  const Nl = d.B * d.n;
  const Nf = d.B * d.N;
  const hD = d.h * d.D;
  const kvD = d.hkv * d.D;
  const NF = d.R > 0 ? 0 : Nf * d.f;
  return {
    ln1Rstd: new Float32Array(Nl), ln1Full: new Float32Array(Nf * d.C),
    q: new Float32Array(Nf * hD), k: new Float32Array(Nf * kvD), v: new Float32Array(Nf * kvD), atty: new Float32Array(Nf * hD),
    saved: null, resMid: new Float32Array(Nl * d.C), ln2Rstd: new Float32Array(Nl), ln2Full: new Float32Array(Nf * d.C),
    gate: new Float32Array(NF), up: new Float32Array(NF), hswi: new Float32Array(NF), resOut: new Float32Array(Nl * d.C),
  };
}

/** The arrays bf16 storage rounds (big) or copies (small): what the layer's backward reads. */
export function tpLlamaBlockSavedArrays(a: TpLlamaBlockActs): SavedArrays {
  return { big: [a.ln1Full, a.q, a.k, a.v, a.atty, a.resMid, a.ln2Full, a.gate, a.up, a.hswi], small: [a.ln1Rstd, a.ln2Rstd] };
}

/** Floats of one layer's activations (saved: what bf16 storage rounds, big, or copies, small) and of the shared scratch. */
export function tpLlamaBlockFloats(d: TpLlamaDims): { acts: number; big: number; small: number; scratch: number } {
  const Nl = d.B * d.n;
  const Nf = d.B * d.N;
  const hD = d.h * d.D;
  const kvD = d.hkv * d.D;
  const big = 2 * Nf * d.C + 2 * Nf * hD + 2 * Nf * kvD + Nl * d.C + (d.R > 0 ? 0 : 3 * Nf * d.f);
  const small = 2 * Nl;
  const scratch = 2 * Nl * d.C + 2 * Nf * d.C + 2 * Nf * hD + 2 * Nf * kvD + llamaMlpScratchFloats(Nf, d.f, d.R);
  return { acts: big + small + Nl * d.C, big, small, scratch };
}

export interface TpLlamaBlockScratch {
  ln: Float32Array; // [Nl, C]
  part: Float32Array; // [Nl, C]
  full: Float32Array; // [Nf, C]
  dlnFull: Float32Array; // [Nf, C]
  dq: Float32Array; // [B, N, h, D]
  dk: Float32Array; // [B, N, hkv, D]
  dv: Float32Array; // [B, N, hkv, D]
  datty: Float32Array; // [B, N, h, D]
  mlp: LlamaMlpScratch; // dgate, dup, dhswi [Nf, f] whole or [R, f] tiled; tile [R, f] each when tiled
}

export function allocTpLlamaBlockScratch(d: TpLlamaDims): TpLlamaBlockScratch {
  const Nl = d.B * d.n;
  const Nf = d.B * d.N;
  const hD = d.h * d.D;
  const kvD = d.hkv * d.D;
  return {
    ln: new Float32Array(Nl * d.C), part: new Float32Array(Nl * d.C), full: new Float32Array(Nf * d.C), dlnFull: new Float32Array(Nf * d.C),
    dq: new Float32Array(Nf * hD), dk: new Float32Array(Nf * kvD), dv: new Float32Array(Nf * kvD), datty: new Float32Array(Nf * hD),
    mlp: allocLlamaMlpScratch(Nf, d.f, d.R),
  };
}

/** out[n] = resid[n] + part[n]. */
function add_residual(out: Float32Array, resid: Float32Array, part: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = (resid[i] as number) + (part[i] as number);
}

/** a.resOut[Nl, C] = layer(inp[Nl, C]); pos[Nf] are the whole sequence's positions. */
export function tp_llama_block_forward(
  k: Kernels, core: AttentionCore, seq: SequenceCollectives, w: TpLlamaBlockWeights, a: TpLlamaBlockActs, s: TpLlamaBlockScratch,
  inp: Float32Array, pos: Int32Array, d: TpLlamaDims, mask: AttentionMaskSpec,
): void {
  const { B, N, C, h, hkv, D, f, eps, theta } = d;
  const Nl = B * d.n;
  const Nf = B * N;
  const hD = h * D;
  const kvD = hkv * D;
  k.rmsnorm_forward(s.ln, a.ln1Rstd, inp, w.ln1w, Nl, C, eps);
  seq.allGather(s.ln, a.ln1Full, B, C);
  linear_forward(k, a.q, a.ln1Full, w.qw, Nf, C, hD);
  k.rope_forward(a.q, pos, Nf, h, D, theta);
  linear_forward(k, a.k, a.ln1Full, w.kw, Nf, C, kvD);
  k.rope_forward(a.k, pos, Nf, hkv, D, theta);
  linear_forward(k, a.v, a.ln1Full, w.vw, Nf, C, kvD);
  a.saved = core.forward(a.atty, a.q, a.k, a.v, { B, T: N, H: h, Hkv: hkv, D }, mask);
  linear_forward(k, s.full, a.atty, w.ow, Nf, hD, C);
  seq.reduceScatter(s.full, s.part, B, C);
  add_residual(a.resMid, inp, s.part, Nl * C);
  k.rmsnorm_forward(s.ln, a.ln2Rstd, a.resMid, w.ln2w, Nl, C, eps);
  seq.allGather(s.ln, a.ln2Full, B, C);
  if (d.R > 0) {
    tp_llama_mlp_forward_tiled(k, w, s.full, a.ln2Full, s.mlp, Nf, C, f, d.R);
  } else {
    linear_forward(k, a.gate, a.ln2Full, w.gatew, Nf, C, f);
    linear_forward(k, a.up, a.ln2Full, w.upw, Nf, C, f);
    k.swiglu_forward(a.hswi, a.gate, a.up, Nf * f);
    linear_forward(k, s.full, a.hswi, w.downw, Nf, f, C);
  }
  seq.reduceScatter(s.full, s.part, B, C);
  add_residual(a.resOut, a.resMid, s.part, Nl * C);
}

/** dres[Nl, C]: d(layer output) on entry, d(layer input) on exit; adds into g. */
export function tp_llama_block_backward(
  k: Kernels, core: AttentionCore, seq: SequenceCollectives, w: TpLlamaBlockWeights, g: TpLlamaBlockWeights,
  a: TpLlamaBlockActs, s: TpLlamaBlockScratch, dres: Float32Array, inp: Float32Array, pos: Int32Array, d: TpLlamaDims,
): void {
  const { B, N, C, h, hkv, D, f, theta } = d;
  const Nl = B * d.n;
  const Nf = B * N;
  const hD = h * D;
  const kvD = hkv * D;
  if (!a.saved) throw new Error('tp llama block: backward called before forward');
  // MLP branch.
  seq.allGather(dres, s.full, B, C);
  s.dlnFull.fill(0);
  if (d.R > 0) {
    // Tiles add their weight gradients as they go, so nothing is left to overlap the reduce-scatter with.
    tp_llama_mlp_backward_tiled(k, w, g, s.dlnFull, s.full, a.ln2Full, s.mlp, Nf, C, f, d.R);
    seq.reduceScatter(s.dlnFull, s.part, B, C);
  } else {
    const m = s.mlp;
    m.dhswi.fill(0);
    linear_backward_input(k, m.dhswi, s.full, w.downw, Nf, f, C);
    linear_backward_weight(k, g.downw, s.full, a.hswi, Nf, f, C);
    m.dgate.fill(0);
    m.dup.fill(0);
    k.swiglu_backward(m.dgate, m.dup, m.dhswi, a.gate, a.up, Nf * f);
    linear_backward_input(k, s.dlnFull, m.dgate, w.gatew, Nf, C, f);
    linear_backward_input(k, s.dlnFull, m.dup, w.upw, Nf, C, f);
    // The input gradient's reduce-scatter runs while gate_proj's and up_proj's weight gradients are computed.
    const mlpRs = seq.reduceScatterAsync(s.dlnFull, s.part, B, C);
    linear_backward_weight(k, g.gatew, m.dgate, a.ln2Full, Nf, C, f);
    linear_backward_weight(k, g.upw, m.dup, a.ln2Full, Nf, C, f);
    mlpRs.waitSync();
  }
  k.rmsnorm_backward(dres, g.ln2w, s.part, a.resMid, w.ln2w, a.ln2Rstd, Nl, C);
  // Attention branch.
  seq.allGather(dres, s.full, B, C);
  s.datty.fill(0);
  linear_backward_input(k, s.datty, s.full, w.ow, Nf, hD, C);
  linear_backward_weight(k, g.ow, s.full, a.atty, Nf, hD, C);
  core.backward(s.dq, s.dk, s.dv, s.datty, a.saved);
  k.rope_backward(s.dq, pos, Nf, h, D, theta);
  k.rope_backward(s.dk, pos, Nf, hkv, D, theta);
  s.dlnFull.fill(0);
  linear_backward_input(k, s.dlnFull, s.dq, w.qw, Nf, C, hD);
  linear_backward_input(k, s.dlnFull, s.dk, w.kw, Nf, C, kvD);
  linear_backward_input(k, s.dlnFull, s.dv, w.vw, Nf, C, kvD);
  // The input gradient's reduce-scatter runs while the q/k/v weight gradients are computed.
  const qkvRs = seq.reduceScatterAsync(s.dlnFull, s.part, B, C);
  linear_backward_weight(k, g.qw, s.dq, a.ln1Full, Nf, C, hD);
  linear_backward_weight(k, g.kw, s.dk, a.ln1Full, Nf, C, kvD);
  linear_backward_weight(k, g.vw, s.dv, a.ln1Full, Nf, C, kvD);
  qkvRs.waitSync();
  k.rmsnorm_backward(dres, g.ln1w, s.part, inp, w.ln1w, a.ln1Rstd, Nl, C);
}
