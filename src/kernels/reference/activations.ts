// Placeholder: replaced by the TypeScript reference kernels of this file.
import type { Kernels } from '../kernels.js';

export const gelu_forward: Kernels['gelu_forward'] = () => {
  throw new Error('gelu_forward: reference kernel not written yet');
};
export const gelu_backward: Kernels['gelu_backward'] = () => {
  throw new Error('gelu_backward: reference kernel not written yet');
};
export const swiglu_forward: Kernels['swiglu_forward'] = () => {
  throw new Error('swiglu_forward: reference kernel not written yet');
};
export const swiglu_backward: Kernels['swiglu_backward'] = () => {
  throw new Error('swiglu_backward: reference kernel not written yet');
};
