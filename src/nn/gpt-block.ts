// One GPT-2 transformer block (pre-LN): x += c_proj(attn(ln_1(x))); x += mlp(ln_2(x)), with
// mlp = c_proj(gelu_tanh(c_fc(.))). Weights use GPT-2's Conv1D layout [in, out].
//
// Shape legend: B = batch, T = tokens this rank holds, N = B*T, C = d_model, H = heads,
// D = C/H head size, F = MLP width (d_ff), R = rows of one MLP tile (0 = the MLP is not tiled).
import type { AttentionSaved, AttentionCore } from '../attention/attention-core.js';
import type { AttentionMaskSpec, AttentionShape, Kernels } from '../kernels/kernels.js';
import type { ParamViews } from './param-provider.js';
import type { ParameterStore } from './parameters.js';
import type { SavedArrays } from './bf16-stash.js';
import {
  allocGptMlpScratch, gpt_mlp_backward, gpt_mlp_backward_tiled, gpt_mlp_forward, gpt_mlp_forward_tiled, gptMlpScratchFloats,
  type GptMlpScratch, type GptMlpWeights,
} from './gpt-mlp.js';
import { conv1d_backward, conv1d_backward_input, conv1d_backward_weight, conv1d_forward } from './linear.js';

/** Views of one block's parameters (or of their gradients: same names, same shapes). */
export interface GptBlockWeights extends GptMlpWeights {
  ln1w: Float32Array; // [C]
  ln1b: Float32Array; // [C]
  qkvw: Float32Array; // [C, 3C]
  qkvb: Float32Array; // [3C]
  attprojw: Float32Array; // [C, C]
  attprojb: Float32Array; // [C]
  ln2w: Float32Array; // [C]
  ln2b: Float32Array; // [C]
}

/** Block i's parameters: Hugging Face GPT-2 name suffix, shape, weight decay (C = d_model, F = d_ff). */
function gptBlockParams(C: number, F: number): [string, number[], boolean][] {
  return [
    ['ln_1.weight', [C], false], ['ln_1.bias', [C], false],
    ['attn.c_attn.weight', [C, 3 * C], true], ['attn.c_attn.bias', [3 * C], false],
    ['attn.c_proj.weight', [C, C], true], ['attn.c_proj.bias', [C], false],
    ['ln_2.weight', [C], false], ['ln_2.bias', [C], false],
    ['mlp.c_fc.weight', [C, F], true], ['mlp.c_fc.bias', [F], false],
    ['mlp.c_proj.weight', [F, C], true], ['mlp.c_proj.bias', [C], false],
  ];
}

/** Declares block i's parameters under their Hugging Face GPT-2 names (without "transformer."). */
export function declareGptBlock(params: ParameterStore, i: number, C: number, F: number): void {
  for (const [name, shape, decay] of gptBlockParams(C, F)) params.declare(`h.${i}.${name}`, shape, decay);
}

/** Names of block i's parameters, in declaration order. */
export function gptBlockNames(i: number): string[] {
  return gptBlockParams(1, 1).map(([name]) => `h.${i}.${name}`);
}

/** Block i's parameter views (grads = true: gradient views). */
export function gptBlockWeights(params: ParamViews, i: number, grads: boolean): GptBlockWeights {
  const get = (name: string): Float32Array => (grads ? params.grad(`h.${i}.${name}`) : params.value(`h.${i}.${name}`));
  return {
    ln1w: get('ln_1.weight'), ln1b: get('ln_1.bias'),
    qkvw: get('attn.c_attn.weight'), qkvb: get('attn.c_attn.bias'),
    attprojw: get('attn.c_proj.weight'), attprojb: get('attn.c_proj.bias'),
    ln2w: get('ln_2.weight'), ln2b: get('ln_2.bias'),
    fcw: get('mlp.c_fc.weight'), fcb: get('mlp.c_fc.bias'),
    fcprojw: get('mlp.c_proj.weight'), fcprojb: get('mlp.c_proj.bias'),
  };
}

/** Floats of one block's saved activations (allocGptBlockActs) and of the shared scratch (allocGptBlockScratch). */
export function gptBlockFloats(N: number, C: number, F: number, R = 0): { acts: number; scratch: number } {
  return { acts: 8 * N * C + 4 * N + (R > 0 ? 0 : 2 * N * F), scratch: 5 * N * C + gptMlpScratchFloats(N, F, R) };
}

/** What one block keeps from forward for backward. */
export interface GptBlockActs {
  ln1: Float32Array; // [N, C]
  ln1Mean: Float32Array; // [N]
  ln1Rstd: Float32Array; // [N]
  q: Float32Array; // [B, T, H, D]
  k: Float32Array; // [B, T, H, D]
  v: Float32Array; // [B, T, H, D]
  atty: Float32Array; // [B, T, H, D] attention output before c_proj
  saved: AttentionSaved | null;
  resMid: Float32Array; // [N, C] residual stream after the attention branch
  ln2: Float32Array; // [N, C]
  ln2Mean: Float32Array; // [N]
  ln2Rstd: Float32Array; // [N]
  fch: Float32Array; // [N, F] c_fc output ([0] when the MLP is tiled)
  fchGelu: Float32Array; // [N, F] ([0] when the MLP is tiled)
  resOut: Float32Array; // [N, C] block output
}

export function allocGptBlockActs(N: number, C: number, F: number, R = 0): GptBlockActs {
  const NF = R > 0 ? 0 : N * F;
  return {
    ln1: new Float32Array(N * C), ln1Mean: new Float32Array(N), ln1Rstd: new Float32Array(N),
    q: new Float32Array(N * C), k: new Float32Array(N * C), v: new Float32Array(N * C),
    atty: new Float32Array(N * C), saved: null, resMid: new Float32Array(N * C),
    ln2: new Float32Array(N * C), ln2Mean: new Float32Array(N), ln2Rstd: new Float32Array(N),
    fch: new Float32Array(NF), fchGelu: new Float32Array(NF), resOut: new Float32Array(N * C),
  };
}

/** The arrays bf16 storage rounds (big) or copies (small): what a block's backward reads. */
export function gptBlockSavedArrays(a: GptBlockActs): SavedArrays {
  return {
    big: [a.ln1, a.q, a.k, a.v, a.atty, a.resMid, a.ln2, a.fch, a.fchGelu],
    small: [a.ln1Mean, a.ln1Rstd, a.ln2Mean, a.ln2Rstd],
  };
}

/** Backward scratch shared by all blocks (each block overwrites it before use). */
export interface GptBlockScratch {
  dln: Float32Array; // [N, C]
  dq: Float32Array; // [B, T, H, D]
  dk: Float32Array; // [B, T, H, D]
  dv: Float32Array; // [B, T, H, D]
  datty: Float32Array; // [N, C]
  mlp: GptMlpScratch;
}

export function allocGptBlockScratch(N: number, C: number, F: number, R = 0): GptBlockScratch {
  return {
    dln: new Float32Array(N * C), dq: new Float32Array(N * C), dk: new Float32Array(N * C),
    dv: new Float32Array(N * C), datty: new Float32Array(N * C), mlp: allocGptMlpScratch(N, F, R),
  };
}

export interface GptBlockDims {
  shape: AttentionShape;
  C: number;
  F: number;
  eps: number;
  /** Rows per MLP tile; 0 or absent = whole sequence. */
  R?: number;
}

/** The attention half and ln_2: fills a from ln1 to ln2 for inp[N,C]. */
export function gpt_block_attn_forward(
  k: Kernels, core: AttentionCore, w: GptBlockWeights, a: GptBlockActs, inp: Float32Array,
  dims: GptBlockDims, mask: AttentionMaskSpec,
): void {
  const { shape, C, eps } = dims;
  const N = shape.B * shape.T;
  k.layernorm_forward(a.ln1, a.ln1Mean, a.ln1Rstd, inp, w.ln1w, w.ln1b, N, C, eps);
  // The fused c_attn [C, 3C] is three column blocks; projecting onto each gives q, k, v in [B,T,H,D].
  const projQ = (): void => conv1d_forward(k, a.q, a.ln1, w.qkvw, w.qkvb.subarray(0, C), N, C, C, 3 * C);
  // A staged core moves k and v while q is projected, so they come first.
  if (!core.beginKV) projQ();
  conv1d_forward(k, a.k, a.ln1, w.qkvw.subarray(C), w.qkvb.subarray(C, 2 * C), N, C, C, 3 * C);
  conv1d_forward(k, a.v, a.ln1, w.qkvw.subarray(2 * C), w.qkvb.subarray(2 * C), N, C, C, 3 * C);
  if (core.beginKV) {
    core.beginKV(a.k, a.v, shape, mask);
    projQ();
  }
  a.saved = core.forward(a.atty, a.q, a.k, a.v, shape, mask);
  conv1d_forward(k, a.resMid, a.atty, w.attprojw, w.attprojb, N, C, C, C, inp);
  k.layernorm_forward(a.ln2, a.ln2Mean, a.ln2Rstd, a.resMid, w.ln2w, w.ln2b, N, C, eps);
}

/** a.resOut[N,C] = block(inp[N,C]); keeps activations in a (s holds the MLP tiles; needed when tiled). */
export function gpt_block_forward(
  k: Kernels, core: AttentionCore, w: GptBlockWeights, a: GptBlockActs, inp: Float32Array,
  dims: GptBlockDims, mask: AttentionMaskSpec, s: GptBlockScratch | null = null,
): void {
  const { shape, C, F } = dims;
  const R = dims.R ?? 0;
  const N = shape.B * shape.T;
  gpt_block_attn_forward(k, core, w, a, inp, dims, mask);
  if (R === 0) gpt_mlp_forward(k, w, a.resOut, a.resMid, a.ln2, a.fch, a.fchGelu, N, C, F);
  else if (s) gpt_mlp_forward_tiled(k, w, a.resOut, a.resMid, a.ln2, s.mlp, N, C, F, R);
  else throw new Error('gpt block: the tiled MLP needs the block scratch');
}

/** What backward reads, recomputed from inp[N,C]: gpt_block_forward without the block output. */
export function gpt_block_recompute(
  k: Kernels, core: AttentionCore, w: GptBlockWeights, a: GptBlockActs, inp: Float32Array,
  dims: GptBlockDims, mask: AttentionMaskSpec,
): void {
  const { shape, C, F } = dims;
  const N = shape.B * shape.T;
  gpt_block_attn_forward(k, core, w, a, inp, dims, mask);
  if ((dims.R ?? 0) > 0) return; // the tiled MLP backward recomputes its own hidden tiles
  conv1d_forward(k, a.fch, a.ln2, w.fcw, w.fcb, N, C, F);
  k.gelu_forward(a.fchGelu, a.fch, N * F);
}

/**
 * Backward through one block: dres[N,C] holds d(block output) on entry and d(block input) on
 * exit (the residual path passes through, branches add into it); adds into the gradients g.
 */
export function gpt_block_backward(
  k: Kernels, core: AttentionCore, w: GptBlockWeights, g: GptBlockWeights, a: GptBlockActs, s: GptBlockScratch,
  dres: Float32Array, inp: Float32Array, dims: GptBlockDims,
): void {
  const { shape, C, F } = dims;
  const R = dims.R ?? 0;
  const N = shape.B * shape.T;
  if (!a.saved) throw new Error('gpt block: backward called before forward');
  // MLP branch.
  if (R > 0) {
    s.dln.fill(0);
    gpt_mlp_backward_tiled(k, w, g, s.dln, dres, a.ln2, s.mlp, N, C, F, R);
  } else {
    gpt_mlp_backward(k, w, g, s.dln, dres, a.ln2, a.fch, a.fchGelu, s.mlp, N, C, F);
  }
  k.layernorm_backward(dres, g.ln2w, g.ln2b, s.dln, a.resMid, w.ln2w, a.ln2Mean, a.ln2Rstd, N, C);
  // Attention branch.
  s.datty.fill(0);
  // d(attention output) first, so a staged core moves it while c_proj's weight gradient is computed.
  conv1d_backward_input(k, s.datty, dres, w.attprojw, N, C, C);
  core.beginBackward?.(s.datty, a.saved);
  conv1d_backward_weight(k, g.attprojw, g.attprojb, dres, a.atty, N, C, C);
  core.backward(s.dq, s.dk, s.dv, s.datty, a.saved);
  s.dln.fill(0);
  conv1d_backward(k, s.dln, g.qkvw, g.qkvb.subarray(0, C), s.dq, a.ln1, w.qkvw, N, C, C, 3 * C);
  conv1d_backward(k, s.dln, g.qkvw.subarray(C), g.qkvb.subarray(C, 2 * C), s.dk, a.ln1, w.qkvw.subarray(C), N, C, C, 3 * C);
  conv1d_backward(k, s.dln, g.qkvw.subarray(2 * C), g.qkvb.subarray(2 * C), s.dv, a.ln1, w.qkvw.subarray(2 * C), N, C, C, 3 * C);
  k.layernorm_backward(dres, g.ln1w, g.ln1b, s.dln, inp, w.ln1w, a.ln1Mean, a.ln1Rstd, N, C);
}
