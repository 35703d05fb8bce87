// The tensor-parallel MLPs of Megatron-SP tiled over the gathered tokens: the column-parallel
// first projection and the row-parallel second one run R rows of the [Nf, C] gathered input at a
// time, so the [Nf, f] hidden activations exist one [R, f] tile at a time. Forward writes the
// row-parallel partial sums [Nf, C] that the block then reduce-scatters; backward recomputes each
// tile's hidden activations from the gathered norm output and adds the tile's weight gradients.
// Rows are independent in the MLP, so tiles are rows of Nf = B*N in order, whatever B is. The
// row-parallel bias is not touched here: the block adds it (and its gradient) on local tokens.
//
// Shape legend: Nf = B*N gathered tokens, C = d_model, f = F/P local MLP width, R = rows of a tile.
import type { Kernels } from '../../kernels/kernels.js';
import type { GptMlpScratch, GptMlpWeights } from '../../nn/gpt-mlp.js';
import { conv1d_backward_input, conv1d_backward_weight, conv1d_forward, linear_backward_input, linear_backward_weight, linear_forward } from '../../nn/linear.js';
import type { LlamaMlpScratch, LlamaMlpWeights } from '../../nn/llama-mlp.js';

/** full[Nf, C] = partial c_proj(gelu(c_fc(ln[Nf, C]))) over R-row tiles; s.fch, s.fchGelu are [R, f]. */
export function tp_gpt_mlp_forward_tiled(
  k: Kernels, w: GptMlpWeights, full: Float32Array, ln: Float32Array, s: GptMlpScratch, Nf: number, C: number, f: number, R: number,
): void {
  for (let r0 = 0; r0 < Nf; r0 += R) {
    const n = Math.min(R, Nf - r0);
    conv1d_forward(k, s.fch, ln.subarray(r0 * C, (r0 + n) * C), w.fcw, w.fcb, n, C, f);
    k.gelu_forward(s.fchGelu, s.fch, n * f);
    k.sgemm(false, false, n, C, f, 1, s.fchGelu, f, w.fcprojw, C, 0, full.subarray(r0 * C, (r0 + n) * C), C);
  }
}

/**
 * Adds the partial d(ln)[Nf, C] into dln from dfull[Nf, C] (the gathered output gradient), and the
 * tile's c_fc and c_proj weight gradients into g (not g.fcprojb).
 */
export function tp_gpt_mlp_backward_tiled(
  k: Kernels, w: GptMlpWeights, g: GptMlpWeights, dln: Float32Array, dfull: Float32Array, ln: Float32Array,
  s: GptMlpScratch, Nf: number, C: number, f: number, R: number,
): void {
  for (let r0 = 0; r0 < Nf; r0 += R) {
    const n = Math.min(R, Nf - r0);
    const lnt = ln.subarray(r0 * C, (r0 + n) * C); // [n, C]
    const dt = dfull.subarray(r0 * C, (r0 + n) * C); // [n, C]
    conv1d_forward(k, s.fch, lnt, w.fcw, w.fcb, n, C, f);
    k.gelu_forward(s.fchGelu, s.fch, n * f);
    s.dfchGelu.fill(0);
    conv1d_backward_input(k, s.dfchGelu, dt, w.fcprojw, n, f, C);
    k.sgemm(true, false, f, C, n, 1, s.fchGelu, f, dt, C, 1, g.fcprojw, C);
    s.dfch.fill(0);
    k.gelu_backward(s.dfch, s.dfchGelu, s.fch, n * f);
    conv1d_backward_input(k, dln.subarray(r0 * C, (r0 + n) * C), s.dfch, w.fcw, n, C, f);
    conv1d_backward_weight(k, g.fcw, g.fcb, s.dfch, lnt, n, C, f);
  }
}

/** full[Nf, C] = partial down(silu(gate(ln)) * up(ln)) over R-row tiles; s.tile holds [R, f] each. */
export function tp_llama_mlp_forward_tiled(
  k: Kernels, w: LlamaMlpWeights, full: Float32Array, ln: Float32Array, s: LlamaMlpScratch, Nf: number, C: number, f: number, R: number,
): void {
  const h = s.tile;
  for (let r0 = 0; r0 < Nf; r0 += R) {
    const n = Math.min(R, Nf - r0);
    const lnt = ln.subarray(r0 * C, (r0 + n) * C); // [n, C]
    linear_forward(k, h.gate, lnt, w.gatew, n, C, f);
    linear_forward(k, h.up, lnt, w.upw, n, C, f);
    k.swiglu_forward(h.hswi, h.gate, h.up, n * f);
    linear_forward(k, full.subarray(r0 * C, (r0 + n) * C), h.hswi, w.downw, n, f, C);
  }
}

/** Adds the partial d(ln)[Nf, C] into dln from dfull[Nf, C], and the tile's weight gradients into g. */
export function tp_llama_mlp_backward_tiled(
  k: Kernels, w: LlamaMlpWeights, g: LlamaMlpWeights, dln: Float32Array, dfull: Float32Array, ln: Float32Array,
  s: LlamaMlpScratch, Nf: number, C: number, f: number, R: number,
): void {
  const h = s.tile;
  for (let r0 = 0; r0 < Nf; r0 += R) {
    const n = Math.min(R, Nf - r0);
    const lnt = ln.subarray(r0 * C, (r0 + n) * C); // [n, C]
    const dt = dfull.subarray(r0 * C, (r0 + n) * C); // [n, C]
    linear_forward(k, h.gate, lnt, w.gatew, n, C, f);
    linear_forward(k, h.up, lnt, w.upw, n, C, f);
    k.swiglu_forward(h.hswi, h.gate, h.up, n * f);
    s.dhswi.fill(0);
    linear_backward_input(k, s.dhswi, dt, w.downw, n, f, C);
    linear_backward_weight(k, g.downw, dt, h.hswi, n, f, C);
    s.dgate.fill(0);
    s.dup.fill(0);
    k.swiglu_backward(s.dgate, s.dup, s.dhswi, h.gate, h.up, n * f);
    const dlnt = dln.subarray(r0 * C, (r0 + n) * C); // [n, C]
    linear_backward_input(k, dlnt, s.dgate, w.gatew, n, C, f);
    linear_backward_input(k, dlnt, s.dup, w.upw, n, C, f);
    linear_backward_weight(k, g.gatew, s.dgate, lnt, n, C, f);
    linear_backward_weight(k, g.upw, s.dup, lnt, n, C, f);
  }
}
