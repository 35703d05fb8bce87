// Public surface of ring attention (context parallelism): the zigzag layout, batch sharding,
// RingAttention and the volume formulas.
export { checkRingMask, RingAttention } from './ring-attention.js';
export { uspShard, uspUnshard, zigzagShard } from './shard-batch.js';
export { hybridAttentionBytes, ringAttentionBytes } from './volume.js';
export type { RingAttentionVolume } from './volume.js';
export { checkZigzagSizes, gatherRanges, RingConfigError, scatterRanges, uspRanges, zigzagChunks, zigzagRanges } from './zigzag.js';
export type { TokenRange } from './zigzag.js';
