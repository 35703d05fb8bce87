// Reference LayerNorm and RMSNorm, forward and backward (backward adds into its gradients).
// N = rows (B*T), C = channels. Statistics are accumulated in float64.
import type { Kernels } from '../kernels.js';

export const layernorm_forward: Kernels['layernorm_forward'] = (
  out, mean, rstd, inp, weight, bias, N, C, eps,
) => {
  // out[N,C], mean[N], rstd[N], inp[N,C], weight[C], bias[C]
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let sum = 0;
    for (let i = 0; i < C; i++) sum += inp[row + i] as number;
    const m = sum / C;
    // Two-pass variance (sum of squared deviations) avoids the cancellation of E[x^2] - E[x]^2.
    let sq = 0;
    for (let i = 0; i < C; i++) {
      const d = (inp[row + i] as number) - m;
      sq += d * d;
    }
    const s = 1 / Math.sqrt(sq / C + eps);
    for (let i = 0; i < C; i++) {
      out[row + i] = ((inp[row + i] as number) - m) * s * (weight[i] as number) + (bias[i] as number);
    }
    mean[n] = m;
    rstd[n] = s;
  }
};

export const layernorm_backward: Kernels['layernorm_backward'] = (
  dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C,
) => {
  // dinp[N,C], dweight[C], dbias[C], dout[N,C], inp[N,C], weight[C], mean[N], rstd[N]
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const m = mean[n] as number;
    const s = rstd[n] as number;
    // dnorm = weight * dout; dinp = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)).
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let i = 0; i < C; i++) {
      const norm = ((inp[row + i] as number) - m) * s;
      const dnorm = (weight[i] as number) * (dout[row + i] as number);
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let i = 0; i < C; i++) {
      const norm = ((inp[row + i] as number) - m) * s;
      const g = dout[row + i] as number;
      const dnorm = (weight[i] as number) * g;
      dbias[i] = (dbias[i] as number) + g;
      dweight[i] = (dweight[i] as number) + norm * g;
      dinp[row + i] = (dinp[row + i] as number) + (dnorm - dnormMean - norm * dnormNormMean) * s;
    }
  }
};

export const rmsnorm_forward: Kernels['rmsnorm_forward'] = (out, rstd, inp, weight, N, C, eps) => {
  // out[N,C], rstd[N], inp[N,C], weight[C]
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let sq = 0;
    for (let i = 0; i < C; i++) {
      const x = inp[row + i] as number;
      sq += x * x;
    }
    const s = 1 / Math.sqrt(sq / C + eps);
    for (let i = 0; i < C; i++) out[row + i] = (inp[row + i] as number) * s * (weight[i] as number);
    rstd[n] = s;
  }
};

export const rmsnorm_backward: Kernels['rmsnorm_backward'] = (dinp, dweight, dout, inp, weight, rstd, N, C) => {
  // dinp[N,C], dweight[C], dout[N,C], inp[N,C], weight[C], rstd[N]
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const s = rstd[n] as number;
    // With norm = inp * rstd and dnorm = weight * dout: dinp = rstd * (dnorm - norm * mean(dnorm * norm)).
    let dnormNormMean = 0;
    for (let i = 0; i < C; i++) {
      dnormNormMean += (weight[i] as number) * (dout[row + i] as number) * (inp[row + i] as number) * s;
    }
    dnormNormMean /= C;
    for (let i = 0; i < C; i++) {
      const norm = (inp[row + i] as number) * s;
      const g = dout[row + i] as number;
      dweight[i] = (dweight[i] as number) + norm * g;
      dinp[row + i] = (dinp[row + i] as number) + ((weight[i] as number) * g - norm * dnormNormMean) * s;
    }
  }
};
