// GPT-2's MLP branch, out = resMid + c_proj(gelu_tanh(c_fc(ln2))), whole or sequence-tiled. The
// tiled form runs R token rows at a time, so the [N, F] hidden activations never exist whole:
// backward recomputes each tile's c_fc and GELU, then adds the tile's weight gradients. Rows are
// independent in the MLP, so the tiles are the rows of N = B*T in order, whatever B is.
//
// Shape legend: N = B*T tokens, C = d_model, F = MLP width (d_ff), R = rows of one tile.
import type { Kernels } from '../kernels/kernels.js';
import { conv1d_backward, conv1d_forward } from './linear.js';

/** Views of the MLP's parameters (or of their gradients), GPT-2 Conv1D layout [in, out]. */
export interface GptMlpWeights {
  fcw: Float32Array; // [C, F]
  fcb: Float32Array; // [F]
  fcprojw: Float32Array; // [F, C]
  fcprojb: Float32Array; // [C]
}

/** Backward scratch of the MLP; the tile buffers also serve the tiled forward. */
export interface GptMlpScratch {
  dfch: Float32Array; // [N, F] whole, or [R, F] tiled
  dfchGelu: Float32Array; // [N, F] whole, or [R, F] tiled
  fch: Float32Array; // [R, F] a tile's c_fc output (tiled only, else [0])
  fchGelu: Float32Array; // [R, F] a tile's GELU output (tiled only, else [0])
}

/** R = 0: the whole-sequence MLP. */
export function allocGptMlpScratch(N: number, F: number, R: number): GptMlpScratch {
  const rows = R > 0 ? R : N;
  return {
    dfch: new Float32Array(rows * F), dfchGelu: new Float32Array(rows * F),
    fch: new Float32Array(R * F), fchGelu: new Float32Array(R * F),
  };
}

export function gptMlpScratchFloats(N: number, F: number, R: number): number {
  return R > 0 ? 4 * R * F : 2 * N * F;
}

/** out[N,C] = resMid + mlp(ln2[N,C]), keeping fch[N,F] and fchGelu[N,F] for backward. */
export function gpt_mlp_forward(
  k: Kernels, w: GptMlpWeights, out: Float32Array, resMid: Float32Array, ln2: Float32Array,
  fch: Float32Array, fchGelu: Float32Array, N: number, C: number, F: number,
): void {
  conv1d_forward(k, fch, ln2, w.fcw, w.fcb, N, C, F);
  k.gelu_forward(fchGelu, fch, N * F);
  conv1d_forward(k, out, fchGelu, w.fcprojw, w.fcprojb, N, F, C, C, resMid);
}

/** Overwrites dln[N,C] with d(ln2) from dres[N,C] = d(out); adds into the gradients g. */
export function gpt_mlp_backward(
  k: Kernels, w: GptMlpWeights, g: GptMlpWeights, dln: Float32Array, dres: Float32Array, ln2: Float32Array,
  fch: Float32Array, fchGelu: Float32Array, s: GptMlpScratch, N: number, C: number, F: number,
): void {
  s.dfchGelu.fill(0);
  conv1d_backward(k, s.dfchGelu, g.fcprojw, g.fcprojb, dres, fchGelu, w.fcprojw, N, F, C);
  s.dfch.fill(0);
  k.gelu_backward(s.dfch, s.dfchGelu, fch, N * F);
  dln.fill(0);
  conv1d_backward(k, dln, g.fcw, g.fcb, s.dfch, ln2, w.fcw, N, C, F);
}

/** gpt_mlp_forward over R-row tiles, with only [R, F] hidden buffers. */
export function gpt_mlp_forward_tiled(
  k: Kernels, w: GptMlpWeights, out: Float32Array, resMid: Float32Array, ln2: Float32Array,
  s: GptMlpScratch, N: number, C: number, F: number, R: number,
): void {
  for (let r0 = 0; r0 < N; r0 += R) {
    const n = Math.min(R, N - r0);
    gpt_mlp_forward(k, w, out.subarray(r0 * C), resMid.subarray(r0 * C), ln2.subarray(r0 * C), s.fch, s.fchGelu, n, C, F);
  }
}

/** gpt_mlp_backward over R-row tiles, recomputing each tile's hidden activations first. */
export function gpt_mlp_backward_tiled(
  k: Kernels, w: GptMlpWeights, g: GptMlpWeights, dln: Float32Array, dres: Float32Array, ln2: Float32Array,
  s: GptMlpScratch, N: number, C: number, F: number, R: number,
): void {
  for (let r0 = 0; r0 < N; r0 += R) {
    const n = Math.min(R, N - r0);
    const ln2t = ln2.subarray(r0 * C, (r0 + n) * C); // [n, C]
    conv1d_forward(k, s.fch, ln2t, w.fcw, w.fcb, n, C, F);
    k.gelu_forward(s.fchGelu, s.fch, n * F);
    gpt_mlp_backward(k, w, g, dln.subarray(r0 * C, (r0 + n) * C), dres.subarray(r0 * C, (r0 + n) * C), ln2t,
      s.fch, s.fchGelu, s, n, C, F);
  }
}
