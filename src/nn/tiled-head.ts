// Final norm, output projection and cross-entropy over row tiles, so the [N, V] logits and their
// gradient never exist whole. With targets, each tile's backward runs right after its loss (the
// head's backward fused into forward): the tile's dlogits give d(norm input) rows and the head's
// weight and norm gradients at once, for a loss scale of 1; backward later multiplies them by the
// real loss scale (every one of them is linear in it). Without targets the logits of all rows are
// written whole, for sampling.
//
// Shape legend: N = B*T tokens, C = d_model, V = vocabulary, R = rows of one tile.
import type { Kernels } from '../kernels/kernels.js';
import { linear_backward, linear_forward } from './linear.js';

/** The final norm, LayerNorm (GPT, with bias) or RMSNorm (Llama; mean and dbias unused). */
export interface FinalNorm {
  forward(out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array, n: number): void;
  /** Adds into dinp[n,C], dweight[C] and dbias[C]. */
  backward(dinp: Float32Array, dweight: Float32Array, dbias: Float32Array, dout: Float32Array, inp: Float32Array,
    mean: Float32Array, rstd: Float32Array, n: number): void;
}

export interface TiledHeadActs {
  losses: Float32Array; // [N]
  dx: Float32Array; // [N, C] d(loss sum)/d(norm input) for loss scale 1
  lnf: Float32Array; // [R, C]
  mean: Float32Array; // [R] (GPT) or [0]
  rstd: Float32Array; // [R]
  logits: Float32Array; // [R, V], overwritten with the tile's dlogits
  dlnf: Float32Array; // [R, C]
  dweight: Float32Array; // [V, C] head weight gradient for loss scale 1
  dnormw: Float32Array; // [C]
  dnormb: Float32Array; // [C] (GPT) or [0]
}

export function allocTiledHead(N: number, C: number, V: number, R: number, normBias: boolean): TiledHeadActs {
  return {
    losses: new Float32Array(N), dx: new Float32Array(N * C),
    lnf: new Float32Array(R * C), mean: new Float32Array(normBias ? R : 0), rstd: new Float32Array(R),
    logits: new Float32Array(R * V), dlnf: new Float32Array(R * C),
    dweight: new Float32Array(V * C), dnormw: new Float32Array(C), dnormb: new Float32Array(normBias ? C : 0),
  };
}

export function tiledHeadBytes(N: number, C: number, V: number, R: number, normBias: boolean): number {
  const b = normBias ? 1 : 0;
  return 4 * (N + N * C + R * (2 * C + V + 1 + b) + V * C + C + b * C);
}

/**
 * Loss sum over rows of x[N,C] (the last block's output) with targets[N], keeping only what
 * tiled_head_backward needs; with targets null, fills logitsOut[N,V] instead and returns 0.
 */
export function tiled_head_forward(
  k: Kernels, norm: FinalNorm, h: TiledHeadActs, x: Float32Array, weight: Float32Array,
  targets: Int32Array | null, logitsOut: Float32Array | null, N: number, C: number, V: number, R: number,
): number {
  if (targets) {
    h.dx.fill(0);
    h.dweight.fill(0);
    h.dnormw.fill(0);
    h.dnormb.fill(0);
  }
  let sum = 0;
  for (let r0 = 0; r0 < N; r0 += R) {
    const n = Math.min(R, N - r0);
    const xt = x.subarray(r0 * C, (r0 + n) * C); // [n, C]
    norm.forward(h.lnf, h.mean, h.rstd, xt, n);
    if (!targets) {
      if (!logitsOut) throw new Error('tiled_head_forward: needs targets or logitsOut');
      linear_forward(k, logitsOut.subarray(r0 * V, (r0 + n) * V), h.lnf, weight, n, C, V);
      continue;
    }
    const losses = h.losses.subarray(r0, r0 + n); // [n]
    const tgt = targets.subarray(r0, r0 + n); // [n]
    linear_forward(k, h.logits, h.lnf, weight, n, C, V);
    k.crossentropy_forward(losses, h.logits, tgt, n, V);
    for (let i = 0; i < n; i++) sum += losses[i] as number;
    k.crossentropy_backward(h.logits, h.logits, tgt, 1, n, V);
    h.dlnf.fill(0);
    linear_backward(k, h.dlnf, h.dweight, h.logits, h.lnf, weight, n, C, V);
    norm.backward(h.dx.subarray(r0 * C, (r0 + n) * C), h.dnormw, h.dnormb, h.dlnf, xt, h.mean, h.rstd, n);
  }
  return sum;
}

/** dres[N,C] = lossScale * dx; adds lossScale times the fused gradients into the head's and norm's. */
export function tiled_head_backward(
  h: TiledHeadActs, lossScale: number, dres: Float32Array, dweight: Float32Array, dnormw: Float32Array,
  dnormb: Float32Array | null,
): void {
  for (let i = 0; i < h.dx.length; i++) dres[i] = lossScale * (h.dx[i] as number);
  addScaled(dweight, h.dweight, lossScale);
  addScaled(dnormw, h.dnormw, lossScale);
  if (dnormb) addScaled(dnormb, h.dnormb, lossScale);
}

function addScaled(dst: Float32Array, src: Float32Array, s: number): void {
  for (let i = 0; i < src.length; i++) dst[i] = (dst[i] as number) + s * (src[i] as number);
}
