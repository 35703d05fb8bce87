// AdamW over a whole flat parameter buffer (one worker, or every rank at ZeRO stage 0), the global
// gradient norm and the clipping factor folded into the update's gradScale.
import type { Kernels } from '../kernels/kernels.js';
import type { ParameterStore } from '../nn/parameters.js';
import { fullDecayRuns } from '../parallel/zero/replicated.js';
import { ShardAdamW, sumOfSquares, type AdamWHyper } from '../parallel/zero/shard-adamw.js';

export type { AdamWHyper };

export class AdamW {
  private readonly inner: ShardAdamW;

  constructor(kernels: Kernels, private readonly params: ParameterStore, hyper: AdamWHyper) {
    this.inner = new ShardAdamW(kernels, params.numel, fullDecayRuns(params), hyper);
  }

  /** First moment (exp_avg), same layout as params.data. */
  get m(): Float32Array {
    return this.inner.m;
  }

  /** Second moment (exp_avg_sq). */
  get v(): Float32Array {
    return this.inner.v;
  }

  /** Updates done so far; the next update uses step + 1 for bias correction. */
  get step(): number {
    return this.inner.step;
  }

  set step(s: number) {
    this.inner.step = s;
  }

  /** One AdamW step with learning rate lr on grads * gradScale. */
  update(lr: number, gradScale: number): void {
    this.inner.update(this.params.data, this.params.grads, lr, gradScale);
  }
}

/** Global L2 norm of a gradient vector, accumulated in float64. */
export function globalGradNorm(grads: Float32Array): number {
  return Math.sqrt(sumOfSquares(grads));
}

/**
 * The factor that brings a gradient of L2 norm `norm` down to `maxNorm` (1 when it is already
 * below, or when clipping is off with maxNorm 0). The 1e-6 guard is DeepSpeed's and PyTorch's.
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0) || norm <= maxNorm) return 1;
  return maxNorm / (norm + 1e-6);
}
