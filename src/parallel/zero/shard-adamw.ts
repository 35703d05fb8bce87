// AdamW over whatever part of the parameters a rank updates (all of them, or its ZeRO shard):
// moments sized to that part, one kernel call per run of elements sharing a weight-decay setting,
// so a shard that cuts through a tensor still decays exactly the elements one worker would.
import type { Kernels } from '../../kernels/kernels.js';

export interface AdamWHyper {
  betas: [number, number];
  eps: number;
  weight_decay: number;
}

/** Elements [at, at + size) of the updated arrays, decayed or not. */
export interface DecayRun {
  at: number;
  size: number;
  decay: boolean;
}

export class ShardAdamW {
  /** First moment (exp_avg), aligned with the arrays update() gets. */
  readonly m: Float32Array;
  /** Second moment (exp_avg_sq). */
  readonly v: Float32Array;
  /** Updates done so far; the next update uses step + 1 for bias correction. */
  step = 0;

  /** length: elements of the moments (padding included); runs: the real elements, which alone are updated. */
  constructor(
    private readonly kernels: Kernels,
    length: number,
    private readonly runs: readonly DecayRun[],
    private readonly hyper: AdamWHyper,
  ) {
    this.m = new Float32Array(length);
    this.v = new Float32Array(length);
    for (const r of runs) {
      if (r.at < 0 || r.at + r.size > length) throw new RangeError(`ShardAdamW: run [${r.at}, ${r.at + r.size}) is outside the ${length} moments`);
    }
  }

  /** One AdamW step with learning rate lr on grads * gradScale; params and grads are aligned with m and v. */
  update(params: Float32Array, grads: Float32Array, lr: number, gradScale: number): void {
    this.step++;
    const [b1, b2] = this.hyper.betas;
    for (const r of this.runs) {
      const end = r.at + r.size;
      this.kernels.adamw_update(
        params.subarray(r.at, end), grads.subarray(r.at, end), this.m.subarray(r.at, end), this.v.subarray(r.at, end), r.size,
        lr, b1, b2, this.hyper.eps, r.decay ? this.hyper.weight_decay : 0, this.step, gradScale,
      );
    }
  }
}

/** Sum of squares of a vector, accumulated in float64 over two lanes. */
export function sumOfSquares(x: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  const n = x.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const a = x[i] as number;
    const b = x[i + 1] as number;
    s0 += a * a;
    s1 += b * b;
  }
  if (i < n) s0 += (x[i] as number) ** 2;
  return s0 + s1;
}
