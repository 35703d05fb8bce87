// Output projection and loss: logits = x @ W^T with W [V, C] (the tied token embedding or an
// untied lm_head, both in nn.Linear layout), then per-token cross-entropy.
//
// Shape legend: N = rows (B*T tokens), C = channels, V = vocabulary.
import type { Kernels } from '../kernels/kernels.js';
import { linear_backward, linear_forward } from './linear.js';

/**
 * logits[N,V] = inp[N,C] @ weight[V,C]^T; when targets is given, fills losses[N] and returns their
 * sum (ignored rows contribute 0), accumulated in float64 so long sequences do not lose digits.
 */
export function lm_head_forward(
  k: Kernels, logits: Float32Array, losses: Float32Array, inp: Float32Array, weight: Float32Array,
  targets: Int32Array | null, N: number, C: number, V: number,
): number {
  linear_forward(k, logits, inp, weight, N, C, V);
  if (!targets) return 0;
  k.crossentropy_forward(losses, logits, targets, N, V);
  let sum = 0;
  for (let n = 0; n < N; n++) sum += losses[n] as number;
  return sum;
}

/**
 * Backward of lossScale * sum(losses): overwrites dlogits[N,V], adds into dinp[N,C] and dweight[V,C].
 */
export function lm_head_backward(
  k: Kernels, dinp: Float32Array, dweight: Float32Array, dlogits: Float32Array,
  logits: Float32Array, inp: Float32Array, weight: Float32Array, targets: Int32Array, lossScale: number,
  N: number, C: number, V: number,
): void {
  k.crossentropy_backward(dlogits, logits, targets, lossScale, N, V);
  linear_backward(k, dinp, dweight, dlogits, inp, weight, N, C, V);
}
