// Shapes the Megatron-SP model tests share: tiny GPT and Llama configs whose heads, kv heads and
// MLP width split over P.
import type { ModelConfig } from '../../src/nn/model-config.js';

export interface TpModelCase {
  readonly label: string;
  readonly arch: 'gpt' | 'llama';
  readonly P: number;
  readonly B: number;
  readonly N: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly dModel: number;
  readonly dFf: number;
  readonly tie: boolean;
  readonly docs: boolean;
  readonly kernels: 'native' | 'reference';
}

export function tinyConfig(k: TpModelCase): ModelConfig {
  return {
    arch: k.arch, vocab_size: 256, max_seq_len: k.N, d_model: k.dModel, n_layers: 2, n_heads: k.heads, n_kv_heads: k.kvHeads,
    d_ff: k.dFf, norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: k.tie,
  };
}
