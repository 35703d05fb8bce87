// The analytic planner: memory, communication and time of training runs on GPU clusters, from the
// formulas the engine's strategies are tested against.
export { CPU_ACTIVATIONS, GPU_BF16_ACTIVATIONS, modelActivationBytes } from './activation-memory.js';
export type { ActivationBreakdown, ActivationOptions, ActivationPrecision } from './activation-memory.js';
export { blockMatmulWeights, computeSeconds, DEFAULT_EFFICIENCY, megatronFormulaFlops, stepFlops } from './compute.js';
export type { EfficiencyModel, StepFlops } from './compute.js';
export { evaluateLayout, topologyOf } from './evaluate.js';
export type { ActivationMode, LayoutEstimate } from './evaluate.js';
export { formatMaxSeq, formatPlan } from './format.js';
export { allLayouts, layoutLabel, refusal, STRATEGIES } from './layouts.js';
export type { Layout, RefusedLayout, StrategyName } from './layouts.js';
export { modelUnits, parameterCount, resolveModel } from './model-source.js';
export { PlanError } from './plan-error.js';
export { checkRequest, maxSeq, plan } from './planner.js';
export type { MaxSeqResult, PlanFilter, PlanResult } from './planner.js';
export { GPU_PRESETS, gpuPreset, MODEL_PRESETS, modelPreset, NETWORK_PRESETS, networkPreset } from './presets.js';
export type { GpuSpec, NetworkSpec } from './presets.js';
export type { CheckpointingMode, PlanRequest } from './request.js';
export { CPU_STATE_PRECISION, GPU_MIXED_PRECISION, modelStateBytes, stateTotal } from './state-memory.js';
export type { StatePrecision } from './state-memory.js';
export { sequenceLayerBytes } from './sequence-volume.js';
export type { LayerBytes } from './sequence-volume.js';
export { allToAllTraffic, ringTraffic } from './topology.js';
export type { LinkTraffic, Topology } from './topology.js';
export { zeroStepBytes } from './zero-volume.js';
export type { ZeroStepVolume } from './zero-volume.js';
