// Llama's SwiGLU MLP branch, out = resMid + down_proj(silu(gate_proj(h)) * up_proj(h)) on
// h = ln2, whole or sequence-tiled. The tiled form runs R token rows at a time, so the three
// [N, F] activations never exist whole: backward recomputes each tile's gate, up and product,
// then adds the tile's weight gradients. Rows are independent in the MLP, so tiles are rows of N.
//
// Shape legend: N = B*T tokens, C = d_model, F = MLP width (d_ff), R = rows of one tile.
import type { Kernels } from '../kernels/kernels.js';
import { linear_backward, linear_forward } from './linear.js';

/** Views of the MLP's parameters (or of their gradients), nn.Linear layout [out, in]. */
export interface LlamaMlpWeights {
  gatew: Float32Array; // [F, C]
  upw: Float32Array; // [F, C]
  downw: Float32Array; // [C, F]
}

/** What the MLP's backward reads: whole [N, F] arrays, or one recomputed [R, F] tile. */
export interface LlamaMlpHidden {
  gate: Float32Array; // [rows, F]
  up: Float32Array; // [rows, F]
  hswi: Float32Array; // [rows, F] silu(gate) * up
}

/** Backward scratch of the MLP; the tile buffers also serve the tiled forward. */
export interface LlamaMlpScratch {
  dgate: Float32Array; // [N, F] whole, or [R, F] tiled
  dup: Float32Array; // [N, F] or [R, F]
  dhswi: Float32Array; // [N, F] or [R, F]
  tile: LlamaMlpHidden; // [R, F] each (tiled only, else [0])
}

/** R = 0: the whole-sequence MLP. */
export function allocLlamaMlpScratch(N: number, F: number, R: number): LlamaMlpScratch {
  const rows = R > 0 ? R : N;
  return {
    dgate: new Float32Array(rows * F), dup: new Float32Array(rows * F), dhswi: new Float32Array(rows * F),
    tile: { gate: new Float32Array(R * F), up: new Float32Array(R * F), hswi: new Float32Array(R * F) },
  };
}

export function llamaMlpScratchFloats(N: number, F: number, R: number): number {
  return R > 0 ? 6 * R * F : 3 * N * F;
}

/** out[N,C] = resMid + mlp(ln2[N,C]), keeping the hidden arrays h for backward. */
export function llama_mlp_forward(
  k: Kernels, w: LlamaMlpWeights, out: Float32Array, resMid: Float32Array, ln2: Float32Array, h: LlamaMlpHidden,
  N: number, C: number, F: number,
): void {
  linear_forward(k, h.gate, ln2, w.gatew, N, C, F);
  linear_forward(k, h.up, ln2, w.upw, N, C, F);
  k.swiglu_forward(h.hswi, h.gate, h.up, N * F);
  linear_forward(k, out, h.hswi, w.downw, N, F, C, resMid);
}

/** Overwrites dln[N,C] with d(ln2) from dres[N,C] = d(out); adds into the gradients g. */
export function llama_mlp_backward(
  k: Kernels, w: LlamaMlpWeights, g: LlamaMlpWeights, dln: Float32Array, dres: Float32Array, ln2: Float32Array,
  h: LlamaMlpHidden, s: LlamaMlpScratch, N: number, C: number, F: number,
): void {
  s.dhswi.fill(0);
  linear_backward(k, s.dhswi, g.downw, dres, h.hswi, w.downw, N, F, C);
  s.dgate.fill(0);
  s.dup.fill(0);
  k.swiglu_backward(s.dgate, s.dup, s.dhswi, h.gate, h.up, N * F);
  dln.fill(0);
  linear_backward(k, dln, g.gatew, s.dgate, ln2, w.gatew, N, C, F);
  linear_backward(k, dln, g.upw, s.dup, ln2, w.upw, N, C, F);
}

/** llama_mlp_forward over R-row tiles, with only [R, F] hidden buffers. */
export function llama_mlp_forward_tiled(
  k: Kernels, w: LlamaMlpWeights, out: Float32Array, resMid: Float32Array, ln2: Float32Array,
  s: LlamaMlpScratch, N: number, C: number, F: number, R: number,
): void {
  for (let r0 = 0; r0 < N; r0 += R) {
    const n = Math.min(R, N - r0);
    llama_mlp_forward(k, w, out.subarray(r0 * C), resMid.subarray(r0 * C), ln2.subarray(r0 * C), s.tile, n, C, F);
  }
}

/** llama_mlp_backward over R-row tiles, recomputing each tile's hidden activations first. */
export function llama_mlp_backward_tiled(
  k: Kernels, w: LlamaMlpWeights, g: LlamaMlpWeights, dln: Float32Array, dres: Float32Array, ln2: Float32Array,
  s: LlamaMlpScratch, N: number, C: number, F: number, R: number,
): void {
  const h = s.tile;
  for (let r0 = 0; r0 < N; r0 += R) {
    const n = Math.min(R, N - r0);
    const ln2t = ln2.subarray(r0 * C, (r0 + n) * C); // [n, C]
    linear_forward(k, h.gate, ln2t, w.gatew, n, C, F);
    linear_forward(k, h.up, ln2t, w.upw, n, C, F);
    k.swiglu_forward(h.hswi, h.gate, h.up, n * F);
    llama_mlp_backward(k, w, g, dln.subarray(r0 * C, (r0 + n) * C), dres.subarray(r0 * C, (r0 + n) * C), ln2t, h, s, n, C, F);
  }
}
