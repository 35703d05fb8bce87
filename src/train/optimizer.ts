// AdamW over the flat parameter buffer, gradient-norm clipping folded into the update's
// gradScale, and the moments exposed for checkpoints.
import type { Kernels } from '../kernels/kernels.js';
import type { ParameterStore } from '../nn/parameters.js';

export interface AdamWHyper {
  betas: [number, number];
  eps: number;
  weight_decay: number;
}

/** A run of neighbouring parameters that share the same weight-decay setting. */
interface DecayRange {
  offset: number;
  size: number;
  decay: boolean;
}

export class AdamW {
  /** First moment (exp_avg), same layout as params.data. */
  readonly m: Float32Array;
  /** Second moment (exp_avg_sq). */
  readonly v: Float32Array;
  /** Updates done so far; the next update uses step + 1 for bias correction. */
  step = 0;
  private readonly ranges: DecayRange[] = [];

  constructor(
    private readonly kernels: Kernels,
    private readonly params: ParameterStore,
    private readonly hyper: AdamWHyper,
  ) {
    this.m = new Float32Array(params.numel);
    this.v = new Float32Array(params.numel);
    // Merging neighbours means one kernel call per run of decayed / non-decayed tensors.
    const infos = [...params.infos].sort((a, b) => a.offset - b.offset);
    for (const info of infos) {
      const last = this.ranges[this.ranges.length - 1];
      if (last && last.decay === info.decay && last.offset + last.size === info.offset) last.size += info.size;
      else this.ranges.push({ offset: info.offset, size: info.size, decay: info.decay });
    }
  }

  /** One AdamW step with learning rate lr on grads * gradScale. */
  update(lr: number, gradScale: number): void {
    this.step++;
    const [b1, b2] = this.hyper.betas;
    const { data, grads } = this.params;
    for (const r of this.ranges) {
      const end = r.offset + r.size;
      this.kernels.adamw_update(
        data.subarray(r.offset, end), grads.subarray(r.offset, end),
        this.m.subarray(r.offset, end), this.v.subarray(r.offset, end), r.size,
        lr, b1, b2, this.hyper.eps, r.decay ? this.hyper.weight_decay : 0, this.step, gradScale,
      );
    }
  }
}

/** Global L2 norm of a gradient vector, accumulated in float64. */
export function globalGradNorm(grads: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  const n = grads.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const a = grads[i] as number;
    const b = grads[i + 1] as number;
    s0 += a * a;
    s1 += b * b;
  }
  if (i < n) s0 += (grads[i] as number) ** 2;
  return Math.sqrt(s0 + s1);
}

/**
 * The factor that brings a gradient of L2 norm `norm` down to `maxNorm` (1 when it is already
 * below, or when clipping is off with maxNorm 0). The 1e-6 guard is DeepSpeed's and PyTorch's.
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0) || norm <= maxNorm) return 1;
  return maxNorm / (norm + 1e-6);
}
