// Builds a GPT or Llama model from a validated config. The attention core is injected so a
// parallel strategy can wrap the local one without the model knowing.
import type { AttentionCore } from '../attention/attention-core.js';
import { LocalAttention } from '../attention/local-attention.js';
import type { Kernels } from '../kernels/kernels.js';
import type { CausalLM } from './causal-lm.js';
import type { ModelConfig } from './model-config.js';
import { GPT } from './gpt.js';
import { Llama } from './llama.js';
import { validateModelConfig } from './validate-config.js';

export { validateModelConfig };

export interface CreateModelOptions {
  kernels: Kernels;
  /** Seed of the deterministic GPT-2 style initialisation. */
  seed: number;
  /** Defaults to new LocalAttention(kernels). */
  attention?: AttentionCore;
}

export function createModel(config: ModelConfig, opts: CreateModelOptions): CausalLM {
  validateModelConfig(config);
  const core = opts.attention ?? new LocalAttention(opts.kernels);
  return config.arch === 'gpt'
    ? new GPT(config, opts.kernels, core, opts.seed)
    : new Llama(config, opts.kernels, core, opts.seed);
}
