// The bytes one Megatron-SP rank holds, from the config alone (for planning and `--dry-run`): its
// model states (replicated parameters whole, sharded ones as 1/P slices, each with gradient and
// two AdamW moments) and the activation buffers TpGpt / TpLlama allocate for a micro-batch, the
// tensor-parallel region's ones over the whole sequence.
//
// Shape legend: B = batch, N = full sequence, n = tokens of the rank with the most (rank 0),
// Nl = B*n, Nf = B*N, C = d_model, V = vocabulary, L = layers, P = tp degree, hD = C/P,
// kvD = Hkv·D/P, f = F/P.
import type { ModelConfig } from '../../nn/model-config.js';
import { ParameterStore } from '../../nn/parameters.js';
import type { ModelStateMemory } from '../zero/engine.js';
import { TpLayout } from './tp-layout.js';

/** Parameters one rank holds (replicated ones whole, sharded ones 1/P). */
export function megatronSpLocalNumel(config: ModelConfig, P: number): number {
  const store = new ParameterStore(); // declared only, never finalized
  new TpLayout(config, P).declareLocal(store);
  return store.numel;
}

/** Model-state bytes of one rank (fp32 parameters, gradients and two AdamW moments; no comm buffers). */
export function megatronSpStateBytes(config: ModelConfig, P: number): ModelStateMemory {
  const n = megatronSpLocalNumel(config, P);
  return { params: 4 * n, grads: 4 * n, optimizer: 8 * n, comm: 0 };
}

/** Activation and scratch bytes rank 0 (the one with the most tokens) allocates for a forward and backward of B rows of N tokens. */
export function megatronSpActivationBytes(config: ModelConfig, B: number, N: number, P: number): number {
  const { d_model: C, d_ff: F, vocab_size: V, n_layers: L, n_heads: H, n_kv_heads: Hkv } = config;
  const Nl = B * Math.ceil(N / P);
  const Nf = B * N;
  const hD = C / P;
  const kvD = (Hkv * (C / H)) / P;
  const f = F / P;
  // Per block: saved activations; shared: one block's scratch; model: residual, head and batch copy.
  const gpt = config.arch === 'gpt';
  const block = gpt
    ? 4 * Nl + 2 * Nl * C + 2 * Nf * C + 4 * Nf * hD + 2 * Nf * f
    : 2 * Nl + 2 * Nl * C + 2 * Nf * C + 2 * Nf * hD + 2 * Nf * kvD + 3 * Nf * f;
  const scratch = gpt
    ? 2 * Nl * C + 2 * Nf * C + 4 * Nf * hD + 2 * Nf * f
    : 2 * Nl * C + 2 * Nf * C + 2 * Nf * hD + 2 * Nf * kvD + 3 * Nf * f;
  const model = 4 * Nl * C + (gpt ? 3 * Nl : 2 * Nl + Nf) + 2 * Nl * V; // Llama adds the gathered positions [Nf]
  return 4 * (L * block + scratch + model) + 16 * Nl; // + the batch copy: four Int32 [Nl]
}
