// Placeholder: replaced by the TypeScript reference kernels of this file.
import type { Kernels } from '../kernels.js';

export const sgemm: Kernels['sgemm'] = () => {
  throw new Error('sgemm: reference kernel not written yet');
};
