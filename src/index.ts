// Public API of ulysses: kernels, models, attention cores, the distributed runtime and training.

// Kernels
export type { Kernels, AttentionShape, AttentionMaskSpec } from './kernels/kernels.js';
export { createNativeKernels, setNativeThreads } from './kernels/native/native-kernels.js';
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
export { hfConfig, hfStateDict, toHfName, fromHfName } from './nn/hf-export.js';

// Distributed runtime
export * as dist from './dist/index.js';

// Training
export { defaultConfig, buildConfig, checkConfig, readConfigFile } from './train/config.js';
export type { UlyssesConfig, ConfigLayer } from './train/config.js';
export { runTraining } from './train/run.js';
export type { RunOptions, RunOutcome } from './train/run.js';
export { Trainer } from './train/trainer.js';
export { loadCheckpoint, saveCheckpoint } from './train/checkpoint.js';
export { generate, loadModelFromCheckpoint } from './train/generate.js';
export { TokenFile, TokenFileWriter } from './train/data/token-file.js';
