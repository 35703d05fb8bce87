// Reference softmax cross-entropy over logits[N,V] (N = rows, V = vocabulary), numerically stable
// (the row maximum is subtracted before exp). Rows with a negative target are ignored.
import type { Kernels } from '../kernels.js';

/** Max and sum of exp(x - max) of one row, the two numbers softmax needs. */
function rowStats(logits: Float32Array, row: number, V: number): { max: number; sum: number } {
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[row + i] as number);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp((logits[row + i] as number) - max);
  return { max, sum };
}

function checkTarget(t: number, V: number, n: number): void {
  if (t >= V) throw new RangeError(`crossentropy: target ${t} of row ${n} is not below V = ${V}`);
}

export const crossentropy_forward: Kernels['crossentropy_forward'] = (losses, logits, targets, N, V) => {
  // losses[N], logits[N,V], targets[N]
  for (let n = 0; n < N; n++) {
    const t = targets[n] as number;
    if (t < 0) {
      losses[n] = 0;
      continue;
    }
    checkTarget(t, V, n);
    const row = n * V;
    const { max, sum } = rowStats(logits, row, V);
    losses[n] = Math.log(sum) + max - (logits[row + t] as number);
  }
};

export const crossentropy_backward: Kernels['crossentropy_backward'] = (dlogits, logits, targets, dloss, N, V) => {
  // dlogits[N,V] (overwritten, may alias logits), logits[N,V], targets[N]
  for (let n = 0; n < N; n++) {
    const t = targets[n] as number;
    const row = n * V;
    if (t < 0) {
      dlogits.fill(0, row, row + V);
      continue;
    }
    checkTarget(t, V, n);
    const { max, sum } = rowStats(logits, row, V);
    // Each element reads logits[i] before writing dlogits[i], so aliasing the two is safe.
    for (let i = 0; i < V; i++) {
      const p = Math.exp((logits[row + i] as number) - max) / sum;
      dlogits[row + i] = (p - (i === t ? 1 : 0)) * dloss;
    }
  }
};
