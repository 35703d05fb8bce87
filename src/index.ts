// Public API of ulysses: kernels, models, attention cores, the distributed runtime and training.

// Kernels
export type { Kernels, AttentionShape, AttentionMaskSpec } from './kernels/kernels.js';
export { createNativeKernels, sbgemmProvider, setNativeThreads } from './kernels/native/native-kernels.js';
export { createReferenceKernels } from './kernels/reference/reference-kernels.js';

// Tensors and files
export { readSafetensors, writeSafetensors, encodeSafetensors, decodeSafetensors } from './tensor/safetensors.js';
export type { NamedTensor, SafeDtype, SafetensorsContent } from './tensor/safetensors.js';

// Attention
export type { AttentionCore, AttentionSaved } from './attention/attention-core.js';
export { LocalAttention } from './attention/local-attention.js';

// Models
export type { ModelConfig, ModelArch } from './nn/model-config.js';
export type { CausalLM, TokenBatch, ForwardResult } from './nn/causal-lm.js';
export { ParameterStore } from './nn/parameters.js';
export type { ParameterInfo } from './nn/parameters.js';
export { createModel, validateModelConfig } from './nn/create-model.js';
export type { CreateModelOptions } from './nn/create-model.js';
export { PLAIN_MEMORY } from './nn/memory-options.js';
export type { MemoryOptions, TileSetting } from './nn/memory-options.js';
export { hfConfig, hfStateDict, toHfName, fromHfName } from './nn/hf-export.js';

// Distributed runtime
export * as dist from './dist/index.js';

// Ulysses sequence parallelism (DistributedAttention around any local attention core) and ZeRO 1-3
export * as ulysses from './parallel/ulysses/index.js';
export * as zero from './parallel/zero/index.js';

// Ring attention (zigzag context parallelism) and hybrid Ulysses x ring (USP)
export * as ring from './parallel/ring/index.js';
export * as usp from './parallel/usp/index.js';
export { UspBatchSource, uspShardGlobalBatch } from './train/data/usp-source.js';
export type { UspShardPosition } from './train/data/usp-source.js';

// Megatron-LM sequence parallelism (tensor parallelism with sequence-sharded norms and residuals)
export * as megatronSp from './parallel/megatron-sp/index.js';

// Planning GPU-cluster runs (ulysses plan): memory, communication and time from the engine's formulas
export * as plan from './plan/index.js';

// Training
export { defaultConfig, buildConfig, checkConfig, readConfigFile } from './train/config.js';
export type { UlyssesConfig, ConfigLayer } from './train/config.js';
export { runTraining } from './train/run.js';
export type { RunOptions, RunOutcome } from './train/run.js';
export { Trainer } from './train/trainer.js';
export { loadCheckpoint, saveCheckpoint } from './train/checkpoint.js';
export { generate, loadModelFromCheckpoint } from './train/generate.js';
export { TASK_NAMES, taskByName, taskOfCorpus } from './train/tasks/registry.js';
export type { TaskGenerator, TaskSample } from './train/tasks/task-sample.js';
export { TaskBatchSource } from './train/tasks/task-source.js';
export { evaluateTask, formatEvalGrid } from './train/eval-task.js';
export type { EvalGrid, EvalCell, EvalOptions } from './train/eval-task.js';
export { loadEvalModel } from './train/eval-model.js';
export { evalChartSvg } from './train/eval-chart.js';
export { TokenFile, TokenFileWriter } from './train/data/token-file.js';
