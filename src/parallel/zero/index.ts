// ZeRO over the dp × sp group: model-state engines for stages 0 to 3 and their building blocks.
export type { FullModelState, ModelStateEngine, ModelStateMemory, StateVector, ZeroStage } from './engine.js';
export { createModelStateEngine, expectedModelStateMemory, paramPadding } from './create.js';
export { GroupOps } from './group-ops.js';
export { ShardLayout } from './layout.js';
export type { FlatRange, Piece, Segment, ShardRun } from './layout.js';
export { gatherShards, gatherShardsInto, sliceShard } from './collect.js';
export { ShardAdamW, sumOfSquares } from './shard-adamw.js';
export type { AdamWHyper, DecayRun } from './shard-adamw.js';
export { ReplicatedState, fullDecayRuns } from './replicated.js';
export { FlatShardedState } from './flat-sharded.js';
export { Zero2State } from './zero2.js';
export { Zero3State } from './zero3.js';
export { UnitGatherProvider } from './unit-gather.js';
