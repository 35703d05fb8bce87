// Public surface of Ulysses sequence parallelism: the plan (who holds which tokens and heads), the
// all-to-all layouts, DistributedAttention, batch sharding and the volume formulas.
export { DistributedAttention } from './distributed-attention.js';
export type { DistributedAttentionOptions } from './distributed-attention.js';
export { gatherDocIds, MAX_DOC_ID } from './doc-ids.js';
export { checkUlyssesMask, localUlyssesMask } from './local-mask.js';
export { headToSeq, headToSeqSendsInput, headToSeqStart, isEqualSplit, seqToHead, seqToHeadCounts, seqToHeadStart } from './layouts.js';
export type { A2ALayout, PendingA2A } from './layouts.js';
export { freshWirePool, PayloadPool } from './payload-pool.js';
export type { WirePool, WirePoolStats } from './payload-pool.js';
export { allowedSpSizes, checkUlyssesSizes, makeUlyssesPlan, offsetsOf, splitCounts, UlyssesConfigError } from './plan.js';
export type { LocalKvMap, Span, UlyssesPlan } from './plan.js';
export { batchRows, sequenceShard } from './shard-batch.js';
export { ulyssesAttentionBytes, ulyssesEqualSplitElements } from './volume.js';
export type { AttentionVolume } from './volume.js';
export { fromWire, toWire, useNativeWire, wireAlloc } from './wire.js';
export type { WireBuffer, WireDtype } from './wire.js';
