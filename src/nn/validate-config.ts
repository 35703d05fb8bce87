// Up-front checks of a ModelConfig, so a bad config fails with a message that names the field
// and the allowed values instead of a shape error deep inside a kernel.
import type { ModelConfig } from './model-config.js';

const KEYS: readonly (keyof ModelConfig)[] = [
  'arch', 'vocab_size', 'max_seq_len', 'd_model', 'n_layers', 'n_heads', 'n_kv_heads', 'd_ff',
  'norm_eps', 'rope_theta', 'tie_embeddings',
];
const INTEGER_KEYS = ['vocab_size', 'max_seq_len', 'd_model', 'n_layers', 'n_heads', 'n_kv_heads', 'd_ff'] as const;

function fail(field: string, message: string): never {
  throw new Error(`model config: ${field} ${message}`);
}

/** Throws an Error naming the first invalid field of config; returns normally when it is valid. */
export function validateModelConfig(config: ModelConfig): void {
  if (typeof config !== 'object' || config === null) throw new Error('model config: expected an object');
  const record = config as unknown as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(KEYS as readonly string[]).includes(key)) fail(key, `is not a model config key; allowed: ${KEYS.join(', ')}`);
  }
  for (const key of KEYS) {
    if (record[key] === undefined) fail(key, 'is missing');
  }
  if (config.arch !== 'gpt' && config.arch !== 'llama') fail('arch', `is ${JSON.stringify(config.arch)}; allowed: "gpt", "llama"`);
  for (const key of INTEGER_KEYS) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(key, `is ${JSON.stringify(v)}; must be a positive integer`);
  }
  if (typeof config.norm_eps !== 'number' || !(config.norm_eps > 0) || !Number.isFinite(config.norm_eps)) {
    fail('norm_eps', `is ${JSON.stringify(config.norm_eps)}; must be a positive finite number (e.g. 1e-5)`);
  }
  if (typeof config.rope_theta !== 'number' || !(config.rope_theta > 0) || !Number.isFinite(config.rope_theta)) {
    fail('rope_theta', `is ${JSON.stringify(config.rope_theta)}; must be a positive finite number (e.g. 10000)`);
  }
  if (typeof config.tie_embeddings !== 'boolean') fail('tie_embeddings', `is ${JSON.stringify(config.tie_embeddings)}; must be true or false`);
  if (config.d_model % config.n_heads !== 0) {
    fail('n_heads', `(${config.n_heads}) must divide d_model (${config.d_model})`);
  }
  if (config.n_heads % config.n_kv_heads !== 0) {
    fail('n_kv_heads', `(${config.n_kv_heads}) must divide n_heads (${config.n_heads})`);
  }
  if (config.arch === 'gpt') {
    if (config.n_kv_heads !== config.n_heads) {
      fail('n_kv_heads', `(${config.n_kv_heads}) must equal n_heads (${config.n_heads}) for arch "gpt"`);
    }
    if (!config.tie_embeddings) fail('tie_embeddings', 'must be true for arch "gpt" (GPT-2 ties lm_head to wte)');
  } else {
    const headSize = config.d_model / config.n_heads;
    if (headSize % 2 !== 0) {
      fail('n_heads', `gives head size d_model / n_heads = ${headSize}; RoPE needs an even head size for arch "llama"`);
    }
  }
}
