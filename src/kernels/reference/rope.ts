// Placeholder: replaced by the TypeScript reference kernels of this file.
import type { Kernels } from '../kernels.js';

export const rope_forward: Kernels['rope_forward'] = () => {
  throw new Error('rope_forward: reference kernel not written yet');
};
export const rope_backward: Kernels['rope_backward'] = () => {
  throw new Error('rope_backward: reference kernel not written yet');
};
