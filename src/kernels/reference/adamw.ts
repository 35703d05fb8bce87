// Placeholder: replaced by the TypeScript reference kernels of this file.
import type { Kernels } from '../kernels.js';

export const adamw_update: Kernels['adamw_update'] = () => {
  throw new Error('adamw_update: reference kernel not written yet');
};
