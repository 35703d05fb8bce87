// Reference element-wise activations: GELU (tanh approximation, GPT-2's "gelu_new") and the
// SwiGLU gate silu(gate) * up of Llama's MLP. n = number of elements; backward adds into gradients.
import type { Kernels } from '../kernels.js';

const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBE = 0.044715;

export const gelu_forward: Kernels['gelu_forward'] = (out, inp, n) => {
  // out[n], inp[n]
  for (let i = 0; i < n; i++) {
    const x = inp[i] as number;
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + GELU_CUBE * x * x * x)));
  }
};

export const gelu_backward: Kernels['gelu_backward'] = (dinp, dout, inp, n) => {
  // dinp[n], dout[n], inp[n]
  for (let i = 0; i < n; i++) {
    const x = inp[i] as number;
    const t = Math.tanh(GELU_SCALE * (x + GELU_CUBE * x * x * x));
    const sech2 = 1 - t * t;
    const grad = 0.5 * (1 + t) + 0.5 * x * sech2 * GELU_SCALE * (1 + 3 * GELU_CUBE * x * x);
    dinp[i] = (dinp[i] as number) + grad * (dout[i] as number);
  }
};

export const swiglu_forward: Kernels['swiglu_forward'] = (out, gate, up, n) => {
  // out[n], gate[n], up[n]
  for (let i = 0; i < n; i++) {
    const g = gate[i] as number;
    out[i] = (g / (1 + Math.exp(-g))) * (up[i] as number);
  }
};

export const swiglu_backward: Kernels['swiglu_backward'] = (dgate, dup, dout, gate, up, n) => {
  // dgate[n], dup[n], dout[n], gate[n], up[n]
  for (let i = 0; i < n; i++) {
    const g = gate[i] as number;
    const d = dout[i] as number;
    const sig = 1 / (1 + Math.exp(-g));
    // d silu(g) / dg = sig * (1 + g * (1 - sig)).
    dgate[i] = (dgate[i] as number) + d * (up[i] as number) * sig * (1 + g * (1 - sig));
    dup[i] = (dup[i] as number) + d * g * sig;
  }
};
