// Reference AdamW step over n parameters: decoupled weight decay, bias correction 1 - beta^step.
// params[n], grads[n], m[n], v[n] are all updated in place except grads.
import type { Kernels } from '../kernels.js';

export const adamw_update: Kernels['adamw_update'] = (
  params, grads, m, v, n, lr, beta1, beta2, eps, weightDecay, step, gradScale,
) => {
  if (!(step >= 1)) throw new RangeError(`adamw_update: step must be >= 1, got ${step}`);
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  for (let i = 0; i < n; i++) {
    const g = (grads[i] as number) * gradScale;
    const mi = beta1 * (m[i] as number) + (1 - beta1) * g;
    const vi = beta2 * (v[i] as number) + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const p = params[i] as number;
    params[i] = p - lr * ((mi / bc1) / (Math.sqrt(vi / bc2) + eps) + weightDecay * p);
  }
};
