// Public surface of hybrid Ulysses x ring sequence parallelism (USP).
export { checkUspSizes, ringModeDegrees, uspDegrees } from './degrees.js';
export type { UspDegrees } from './degrees.js';
export { createUspAttention } from './usp-attention.js';
export type { UspGroups } from './usp-attention.js';
