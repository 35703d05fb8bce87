// One Llama decoder layer: x += o_proj(attn(rope(q), rope(k), v)) on input_layernorm(x), then
// x += down_proj(silu(gate_proj(h)) * up_proj(h)) on h = post_attention_layernorm(x). RMSNorm,
// no biases, nn.Linear weight layout [out, in], grouped-query attention through the core.
//
// Shape legend: B = batch, T = tokens this rank holds, N = B*T, C = d_model, H = query heads,
// Hkv = key/value heads, D = C/H head size, KV = Hkv*D, F = MLP width (d_ff), R = rows of one MLP tile
// (0 = the MLP is not tiled).
import type { AttentionSaved, AttentionCore } from '../attention/attention-core.js';
import type { AttentionMaskSpec, AttentionShape, Kernels } from '../kernels/kernels.js';
import type { ParamViews } from './param-provider.js';
import type { ParameterStore } from './parameters.js';
import type { SavedArrays } from './bf16-stash.js';
import { linear_backward, linear_backward_input, linear_backward_weight, linear_forward } from './linear.js';
import {
  allocLlamaMlpScratch, llama_mlp_backward, llama_mlp_backward_tiled, llama_mlp_forward, llama_mlp_forward_tiled,
  llamaMlpScratchFloats, type LlamaMlpScratch, type LlamaMlpWeights,
} from './llama-mlp.js';

/** Views of one layer's parameters (or of their gradients: same names, same shapes). */
export interface LlamaBlockWeights extends LlamaMlpWeights {
  ln1w: Float32Array; // [C] input_layernorm
  qw: Float32Array; // [C, C] q_proj (H*D = C)
  kw: Float32Array; // [KV, C]
  vw: Float32Array; // [KV, C]
  ow: Float32Array; // [C, C]
  ln2w: Float32Array; // [C] post_attention_layernorm
}

/** Layer i's parameters: Hugging Face name suffix, shape, weight decay (C = d_model, KV = kv width, F = d_ff). */
function llamaBlockParams(C: number, KV: number, F: number): [string, number[], boolean][] {
  return [
    ['input_layernorm.weight', [C], false],
    ['self_attn.q_proj.weight', [C, C], true], ['self_attn.k_proj.weight', [KV, C], true],
    ['self_attn.v_proj.weight', [KV, C], true], ['self_attn.o_proj.weight', [C, C], true],
    ['post_attention_layernorm.weight', [C], false],
    ['mlp.gate_proj.weight', [F, C], true], ['mlp.up_proj.weight', [F, C], true], ['mlp.down_proj.weight', [C, F], true],
  ];
}

/** Declares layer i's parameters under Hugging Face Llama names without the "model." prefix. */
export function declareLlamaBlock(params: ParameterStore, i: number, C: number, KV: number, F: number): void {
  for (const [name, shape, decay] of llamaBlockParams(C, KV, F)) params.declare(`layers.${i}.${name}`, shape, decay);
}

/** Names of layer i's parameters, in declaration order. */
export function llamaBlockNames(i: number): string[] {
  return llamaBlockParams(1, 1, 1).map(([name]) => `layers.${i}.${name}`);
}

/** Layer i's parameter views (grads = true: gradient views). */
export function llamaBlockWeights(params: ParamViews, i: number, grads: boolean): LlamaBlockWeights {
  const get = (name: string): Float32Array => (grads ? params.grad(`layers.${i}.${name}`) : params.value(`layers.${i}.${name}`));
  return {
    ln1w: get('input_layernorm.weight'),
    qw: get('self_attn.q_proj.weight'), kw: get('self_attn.k_proj.weight'),
    vw: get('self_attn.v_proj.weight'), ow: get('self_attn.o_proj.weight'),
    ln2w: get('post_attention_layernorm.weight'),
    gatew: get('mlp.gate_proj.weight'), upw: get('mlp.up_proj.weight'), downw: get('mlp.down_proj.weight'),
  };
}

/** Floats of one layer's saved activations (allocLlamaBlockActs) and of the shared scratch (allocLlamaBlockScratch). */
export function llamaBlockFloats(N: number, C: number, KV: number, F: number, R = 0): { acts: number; scratch: number } {
  return {
    acts: 6 * N * C + 2 * N * KV + 2 * N + (R > 0 ? 0 : 3 * N * F),
    scratch: 3 * N * C + 2 * N * KV + llamaMlpScratchFloats(N, F, R),
  };
}

/** What one layer keeps from forward for backward. */
export interface LlamaBlockActs {
  ln1: Float32Array; // [N, C]
  ln1Rstd: Float32Array; // [N]
  q: Float32Array; // [B, T, H, D] after RoPE
  k: Float32Array; // [B, T, Hkv, D] after RoPE
  v: Float32Array; // [B, T, Hkv, D]
  atty: Float32Array; // [B, T, H, D] attention output before o_proj
  saved: AttentionSaved | null;
  resMid: Float32Array; // [N, C] residual stream after the attention branch
  ln2: Float32Array; // [N, C]
  ln2Rstd: Float32Array; // [N]
  gate: Float32Array; // [N, F] ([0] when the MLP is tiled)
  up: Float32Array; // [N, F] ([0] when the MLP is tiled)
  hswi: Float32Array; // [N, F] silu(gate) * up ([0] when the MLP is tiled)
  resOut: Float32Array; // [N, C] layer output
}

export function allocLlamaBlockActs(N: number, C: number, KV: number, F: number, R = 0): LlamaBlockActs {
  const NF = R > 0 ? 0 : N * F;
  return {
    ln1: new Float32Array(N * C), ln1Rstd: new Float32Array(N),
    q: new Float32Array(N * C), k: new Float32Array(N * KV), v: new Float32Array(N * KV),
    atty: new Float32Array(N * C), saved: null, resMid: new Float32Array(N * C),
    ln2: new Float32Array(N * C), ln2Rstd: new Float32Array(N),
    gate: new Float32Array(NF), up: new Float32Array(NF), hswi: new Float32Array(NF),
    resOut: new Float32Array(N * C),
  };
}

/** The arrays bf16 storage rounds (big) or copies (small): what a layer's backward reads. */
export function llamaBlockSavedArrays(a: LlamaBlockActs): SavedArrays {
  return { big: [a.ln1, a.q, a.k, a.v, a.atty, a.resMid, a.ln2, a.gate, a.up, a.hswi], small: [a.ln1Rstd, a.ln2Rstd] };
}

/** Backward scratch shared by all layers (each layer overwrites it before use). */
export interface LlamaBlockScratch {
  dln: Float32Array; // [N, C]
  dq: Float32Array; // [B, T, H, D]
  dk: Float32Array; // [B, T, Hkv, D]
  dv: Float32Array; // [B, T, Hkv, D]
  datty: Float32Array; // [N, C]
  mlp: LlamaMlpScratch;
}

export function allocLlamaBlockScratch(N: number, C: number, KV: number, F: number, R = 0): LlamaBlockScratch {
  return {
    dln: new Float32Array(N * C), dq: new Float32Array(N * C), dk: new Float32Array(N * KV),
    dv: new Float32Array(N * KV), datty: new Float32Array(N * C), mlp: allocLlamaMlpScratch(N, F, R),
  };
}

export interface LlamaBlockDims {
  shape: AttentionShape;
  C: number;
  F: number;
  eps: number;
  theta: number;
  /** Rows per MLP tile; 0 or absent = whole sequence. */
  R?: number;
}

/** The attention half and post_attention_layernorm: fills a from ln1 to ln2 for inp[N,C] at positions pos[N]. */
export function llama_block_attn_forward(
  k: Kernels, core: AttentionCore, w: LlamaBlockWeights, a: LlamaBlockActs, inp: Float32Array,
  pos: Int32Array, dims: LlamaBlockDims, mask: AttentionMaskSpec,
): void {
  const { shape, C, eps, theta } = dims;
  const { H, Hkv, D } = shape;
  const N = shape.B * shape.T;
  const KV = Hkv * D;
  k.rmsnorm_forward(a.ln1, a.ln1Rstd, inp, w.ln1w, N, C, eps);
  // RoPE is linear in q and k, so rotating in place loses nothing backward needs.
  const projQ = (): void => {
    linear_forward(k, a.q, a.ln1, w.qw, N, C, C);
    k.rope_forward(a.q, pos, N, H, D, theta);
  };
  // A staged core moves k and v while q is projected, so they come first.
  if (!core.beginKV) projQ();
  linear_forward(k, a.k, a.ln1, w.kw, N, C, KV);
  linear_forward(k, a.v, a.ln1, w.vw, N, C, KV);
  k.rope_forward(a.k, pos, N, Hkv, D, theta);
  if (core.beginKV) {
    core.beginKV(a.k, a.v, shape, mask);
    projQ();
  }
  a.saved = core.forward(a.atty, a.q, a.k, a.v, shape, mask);
  linear_forward(k, a.resMid, a.atty, w.ow, N, C, C, inp);
  k.rmsnorm_forward(a.ln2, a.ln2Rstd, a.resMid, w.ln2w, N, C, eps);
}

/** a.resOut[N,C] = layer(inp[N,C]) at global positions pos[N]; keeps activations in a (s holds the MLP tiles; needed when tiled). */
export function llama_block_forward(
  k: Kernels, core: AttentionCore, w: LlamaBlockWeights, a: LlamaBlockActs, inp: Float32Array,
  pos: Int32Array, dims: LlamaBlockDims, mask: AttentionMaskSpec, s: LlamaBlockScratch | null = null,
): void {
  const { shape, C, F } = dims;
  const R = dims.R ?? 0;
  const N = shape.B * shape.T;
  llama_block_attn_forward(k, core, w, a, inp, pos, dims, mask);
  if (R === 0) llama_mlp_forward(k, w, a.resOut, a.resMid, a.ln2, a, N, C, F);
  else if (s) llama_mlp_forward_tiled(k, w, a.resOut, a.resMid, a.ln2, s.mlp, N, C, F, R);
  else throw new Error('llama block: the tiled MLP needs the block scratch');
}

/** What backward reads, recomputed from inp[N,C]: llama_block_forward without the layer output. */
export function llama_block_recompute(
  k: Kernels, core: AttentionCore, w: LlamaBlockWeights, a: LlamaBlockActs, inp: Float32Array,
  pos: Int32Array, dims: LlamaBlockDims, mask: AttentionMaskSpec,
): void {
  const { shape, C, F } = dims;
  const N = shape.B * shape.T;
  llama_block_attn_forward(k, core, w, a, inp, pos, dims, mask);
  if ((dims.R ?? 0) > 0) return; // the tiled MLP backward recomputes its own hidden tiles
  linear_forward(k, a.gate, a.ln2, w.gatew, N, C, F);
  linear_forward(k, a.up, a.ln2, w.upw, N, C, F);
  k.swiglu_forward(a.hswi, a.gate, a.up, N * F);
}



/**
 * Backward through one layer: dres[N,C] holds d(layer output) on entry and d(layer input) on
 * exit (the residual path passes through, branches add into it); adds into the gradients g.
 */
export function llama_block_backward(
  k: Kernels, core: AttentionCore, w: LlamaBlockWeights, g: LlamaBlockWeights, a: LlamaBlockActs,
  s: LlamaBlockScratch, dres: Float32Array, inp: Float32Array, pos: Int32Array, dims: LlamaBlockDims,
): void {
  const { shape, C, F, theta } = dims;
  const { H, Hkv, D } = shape;
  const N = shape.B * shape.T;
  const KV = Hkv * D;
  if (!a.saved) throw new Error('llama block: backward called before forward');
  // MLP branch.
  const R = dims.R ?? 0;
  if (R > 0) {
    s.dln.fill(0);
    llama_mlp_backward_tiled(k, w, g, s.dln, dres, a.ln2, s.mlp, N, C, F, R);
  } else {
    llama_mlp_backward(k, w, g, s.dln, dres, a.ln2, a, s.mlp, N, C, F);
  }
  k.rmsnorm_backward(dres, g.ln2w, s.dln, a.resMid, w.ln2w, a.ln2Rstd, N, C);
  // Attention branch.
  s.datty.fill(0);
  // d(attention output) first, so a staged core moves it while o_proj's weight gradient is computed.
  linear_backward_input(k, s.datty, dres, w.ow, N, C, C);
  core.beginBackward?.(s.datty, a.saved);
  linear_backward_weight(k, g.ow, dres, a.atty, N, C, C);
  core.backward(s.dq, s.dk, s.dv, s.datty, a.saved);
  k.rope_backward(s.dq, pos, N, H, D, theta);
  k.rope_backward(s.dk, pos, N, Hkv, D, theta);
  s.dln.fill(0);
  linear_backward(k, s.dln, g.qw, s.dq, a.ln1, w.qw, N, C, C);
  linear_backward(k, s.dln, g.kw, s.dk, a.ln1, w.kw, N, C, KV);
  linear_backward(k, s.dln, g.vw, s.dv, a.ln1, w.vw, N, C, KV);
  k.rmsnorm_backward(dres, g.ln1w, s.dln, inp, w.ln1w, a.ln1Rstd, N, C);
}
