// Placeholder: replaced by the TypeScript reference kernels of this file.
import type { Kernels } from '../kernels.js';

export const layernorm_forward: Kernels['layernorm_forward'] = () => {
  throw new Error('layernorm_forward: reference kernel not written yet');
};
export const layernorm_backward: Kernels['layernorm_backward'] = () => {
  throw new Error('layernorm_backward: reference kernel not written yet');
};
export const rmsnorm_forward: Kernels['rmsnorm_forward'] = () => {
  throw new Error('rmsnorm_forward: reference kernel not written yet');
};
export const rmsnorm_backward: Kernels['rmsnorm_backward'] = () => {
  throw new Error('rmsnorm_backward: reference kernel not written yet');
};
