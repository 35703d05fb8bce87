// Placeholder: replaced by the TypeScript reference kernels of this file.
import type { Kernels } from '../kernels.js';

export const attention_forward: Kernels['attention_forward'] = () => {
  throw new Error('attention_forward: reference kernel not written yet');
};
export const attention_backward: Kernels['attention_backward'] = () => {
  throw new Error('attention_backward: reference kernel not written yet');
};
