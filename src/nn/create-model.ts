// Builds a GPT or Llama model from a validated config. The attention core is injected so a
// parallel strategy can wrap the local one without the model knowing. The parameter layout, the
// provider units and the activation estimate are available without building a model, for planning.
import type { AttentionCore } from '../attention/attention-core.js';
import { LocalAttention } from '../attention/local-attention.js';
import type { Kernels } from '../kernels/kernels.js';
import { ModelAttentionMask, type ModelAttentionOptions } from './attention-mask.js';
import type { CausalLM } from './causal-lm.js';
import type { ModelConfig } from './model-config.js';
import { declareGptParameters, GPT, gptActivationBytes, gptParamUnits } from './gpt.js';
import { declareLlamaParameters, Llama, llamaActivationBytes, llamaParamUnits } from './llama.js';
import { checkMemoryOptions, PLAIN_MEMORY, type MemoryOptions } from './memory-options.js';
import { ParameterStore, type ParameterInfo } from './parameters.js';
import { validateModelConfig } from './validate-config.js';

export { validateModelConfig };

export interface CreateModelOptions {
  kernels: Kernels;
  /** Seed of the deterministic GPT-2 style initialisation. */
  seed: number;
  /** Defaults to new LocalAttention(kernels). */
  attention?: AttentionCore;
  /** Pad the flat parameter and gradient buffers to a multiple of this (default 1). */
  padParamsTo?: number;
  /** Sliding window and block-sparse layout of every attention layer (default: causal only). */
  attentionMask?: ModelAttentionOptions;
  /** Activation checkpointing, tiled MLP, tiled logits + loss, bf16 activation storage (default: none). */
  memory?: MemoryOptions;
}

export function createModel(config: ModelConfig, opts: CreateModelOptions): CausalLM {
  validateModelConfig(config);
  const core = opts.attention ?? new LocalAttention(opts.kernels);
  const store = { padMultiple: opts.padParamsTo ?? 1 };
  const mask = new ModelAttentionMask(opts.attentionMask);
  const memory = opts.memory ?? PLAIN_MEMORY;
  checkMemoryOptions(memory);
  return config.arch === 'gpt'
    ? new GPT(config, opts.kernels, core, opts.seed, store, mask, memory)
    : new Llama(config, opts.kernels, core, opts.seed, store, mask, memory);
}

/** What a model of this config holds, without allocating it: parameter infos and provider units. */
export interface ModelLayout {
  infos: ParameterInfo[];
  numel: number;
  units: string[][];
}

export function modelLayout(config: ModelConfig): ModelLayout {
  validateModelConfig(config);
  const store = new ParameterStore();
  if (config.arch === 'gpt') declareGptParameters(store, config);
  else declareLlamaParameters(store, config);
  return { infos: store.infos, numel: store.numel, units: config.arch === 'gpt' ? gptParamUnits(config) : llamaParamUnits(config) };
}

/**
 * Bytes of the activation and scratch buffers a model allocates for one training micro-batch of
 * `tokens` = B*T tokens under the memory options (what activationBytes() reports after a step).
 */
export function estimateActivationBytes(config: ModelConfig, tokens: number, memory: MemoryOptions = PLAIN_MEMORY): number {
  checkMemoryOptions(memory);
  return config.arch === 'gpt' ? gptActivationBytes(config, tokens, memory) : llamaActivationBytes(config, tokens, memory);
}
