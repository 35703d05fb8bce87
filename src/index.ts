// Public API of ulysses.
export type { Kernels, AttentionShape, AttentionMaskSpec } from './kernels/kernels.js';
export type { ModelConfig, ModelArch } from './nn/model-config.js';
export type { CausalLM, TokenBatch, ForwardResult } from './nn/causal-lm.js';
export { ParameterStore } from './nn/parameters.js';
export type { ParameterInfo } from './nn/parameters.js';
