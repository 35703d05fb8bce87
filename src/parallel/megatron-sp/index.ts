// Public surface of Megatron-LM sequence parallelism (tensor parallelism with sequence-sharded
// norms, residuals and loss): the tp GPT and Llama, their model-state engine, the layout of its slices, the
// size checks and the per-layer volume formula.
export { createMegatronSpTraining } from './create.js';
export type { MegatronSpOptions, MegatronSpTraining } from './create.js';
export { megatronSpActivationBytes, megatronSpLocalNumel, megatronSpStateBytes } from './memory.js';
export { SequenceCollectives } from './sequence-collectives.js';
export { allowedMegatronDegrees, checkMegatronSp, MEGATRON_SP_ARCHS, MEGATRON_SP_ZERO_STAGES, MegatronSpConfigError } from './sizes.js';
export { TpGpt } from './tp-gpt.js';
export { TpLlama } from './tp-llama.js';
export { TpLM } from './tp-lm.js';
export type { TpModelOptions } from './tp-lm.js';
export { TpLayout } from './tp-layout.js';
export type { TpSplit } from './tp-layout.js';
export { gatherWholeVector, reduceTpGradients, TpReplicatedState } from './tp-state.js';
export { TpZero1State, tpShareSize } from './tp-zero1.js';
export type { TpGroupOps } from './tp-state.js';
export { megatronSpLayerBytes } from './volume.js';
export type { MegatronSpVolume } from './volume.js';
