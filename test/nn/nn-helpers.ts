// Tiny configs, batches and weight scrambling shared by the model tests.
import type { CausalLM, TokenBatch } from '../../src/nn/causal-lm.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { rng } from '../helpers.js';

export function tinyGptConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    arch: 'gpt', vocab_size: 13, max_seq_len: 16, d_model: 8, n_layers: 2, n_heads: 2, n_kv_heads: 2,
    d_ff: 32, norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: true, ...over,
  };
}

export function tinyLlamaConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    arch: 'llama', vocab_size: 13, max_seq_len: 16, d_model: 16, n_layers: 2, n_heads: 4, n_kv_heads: 2,
    d_ff: 24, norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: false, ...over,
  };
}

/**
 * A [B, T] batch with random tokens and targets (one target ignored), row b starting at global
 * position 3*b, and with docIds two documents in the last row.
 */
export function tinyBatch(config: ModelConfig, B: number, T: number, seed: number, withDocIds: boolean): TokenBatch {
  const r = rng(seed);
  const N = B * T;
  const tokens = new Int32Array(N); // [B, T]
  const targets = new Int32Array(N); // [B, T]
  const positions = new Int32Array(N); // [B, T]
  const docIds = new Int32Array(N); // [B, T]
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      tokens[i] = Math.floor(r() * config.vocab_size);
      targets[i] = Math.floor(r() * config.vocab_size);
      positions[i] = 3 * b + t;
      docIds[i] = b === B - 1 && t >= Math.floor(T / 2) ? 1 : 0;
    }
  }
  targets[1] = -1;
  return { B, T, tokens, targets, positions, docIds: withDocIds ? docIds : null };
}

/**
 * Replaces the GPT-2 initialisation with larger random weights (norm weights near 1, biases
 * nonzero) so every gradient is well away from zero and fp32 rounding.
 */
export function scrambleWeights(model: CausalLM, seed: number, scale = 0.3): void {
  const r = rng(seed);
  for (const info of model.params.infos) {
    const w = model.params.value(info.name); // [info.size]
    const isNorm = /(ln_\d|ln_f|norm)\.weight$/.test(info.name);
    for (let i = 0; i < w.length; i++) w[i] = (isNorm ? 1 : 0) + (r() * 2 - 1) * scale;
  }
}

/** Mean loss of one forward, in float64. */
export function meanLoss(model: CausalLM, batch: TokenBatch): number {
  const { lossSum, count } = model.forward(batch);
  return lossSum / count;
}

/** Zeroes the gradients, runs forward and backward(1/count), returns a copy of all gradients. */
export function gradients(model: CausalLM, batch: TokenBatch): { loss: number; grads: Float32Array } {
  model.params.zeroGrads();
  const { lossSum, count } = model.forward(batch);
  model.backward(1 / count);
  return { loss: lossSum / count, grads: model.params.grads.slice() };
}
