// DeepSpeed's WarmupCosineLR: the learning rate is lr * ratio, where the ratio rises from
// warmup_min_ratio to 1 over warmup_num_steps (linearly, or logarithmically as DeepSpeed's
// default), then follows a half cosine from 1 down to cos_min_ratio at total_num_steps.

export interface WarmupCosineParams {
  warmup_num_steps: number;
  total_num_steps: number;
  warmup_min_ratio: number;
  cos_min_ratio: number;
  warmup_type: 'linear' | 'log';
}

/**
 * The lr ratio for the optimizer step with 0-based index `iteration` (DeepSpeed's
 * last_batch_iteration): iteration 0 is the first update.
 */
export function warmupCosineRatio(iteration: number, p: WarmupCosineParams): number {
  const warm = p.warmup_num_steps;
  if (iteration < warm) {
    const frac = p.warmup_type === 'log' ? Math.log(iteration + 1) / Math.log(Math.max(2, warm)) : iteration / warm;
    return p.warmup_min_ratio + (1 - p.warmup_min_ratio) * frac;
  }
  const annealSteps = Math.max(1, p.total_num_steps - warm);
  const progress = Math.min(1, (iteration - warm) / annealSteps);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return Math.max(0, p.cos_min_ratio + (1 - p.cos_min_ratio) * cosine);
}

/** Learning rate of optimizer step `step` (1-based, as the trainer counts). */
export function learningRateAt(step: number, baseLr: number, p: WarmupCosineParams): number {
  return baseLr * warmupCosineRatio(step - 1, p);
}
