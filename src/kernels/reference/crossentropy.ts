// Placeholder: replaced by the TypeScript reference kernels of this file.
import type { Kernels } from '../kernels.js';

export const crossentropy_forward: Kernels['crossentropy_forward'] = () => {
  throw new Error('crossentropy_forward: reference kernel not written yet');
};
export const crossentropy_backward: Kernels['crossentropy_backward'] = () => {
  throw new Error('crossentropy_backward: reference kernel not written yet');
};
