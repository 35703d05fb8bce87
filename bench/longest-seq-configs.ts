// The configurations of the longest-sequence benchmark, built through the config layers
// `ulysses train` resolves: DESIGN.md's reference GPT (d_model 256, 4 layers, 8 heads, vocab 256,
// MLP 4x, batch 1, AdamW, max_seq_len = N) under a setup (strategy, P, ZeRO stage, memory toolkit).
import { buildConfig, type SequenceParallelMode, type UlyssesConfig } from '../src/train/config.js';

export interface Setup {
  /** Short key used in tables and the JSON. */
  readonly key: string;
  readonly label: string;
  readonly mode: SequenceParallelMode;
  readonly P: number;
  readonly stage: 0 | 1 | 3;
  /** Checkpointing + tiled MLP + tiled logits ("auto" tiles). */
  readonly toolkit: boolean;
  /** bf16 storage of the activations kept for backward (with the toolkit). */
  readonly bf16: boolean;
  /** Hybrid's ring degree (Ulysses degree = P / ringSize). */
  readonly ringSize?: number;
}

/** The three configurations whose memory is fitted against N/P (issue 6's 24 GiB question). */
export const FIT_SETUPS: readonly Setup[] = [
  { key: 'a', label: '(a) one worker, plain', mode: 'ulysses', P: 1, stage: 0, toolkit: false, bf16: false },
  { key: 'b', label: '(b) one worker, toolkit + bf16 saved activations', mode: 'ulysses', P: 1, stage: 0, toolkit: true, bf16: true },
  { key: 'c', label: '(c) sp = 4, ZeRO-3, toolkit + bf16 saved activations', mode: 'ulysses', P: 4, stage: 3, toolkit: true, bf16: true },
];

/** The strategies at P = 4 under one small equal budget per rank (the paper's length comparison). */
export const BUDGET_SETUPS: readonly Setup[] = [
  { key: 'ulysses-z3-toolkit', label: 'Ulysses, ZeRO-3, toolkit + bf16 saved activations', mode: 'ulysses', P: 4, stage: 3, toolkit: true, bf16: true },
  { key: 'ulysses-plain', label: 'Ulysses, plain (stage 0, no toolkit)', mode: 'ulysses', P: 4, stage: 0, toolkit: false, bf16: false },
  { key: 'megatron', label: 'Megatron-SP, plain (stage 0, no toolkit)', mode: 'megatron', P: 4, stage: 0, toolkit: false, bf16: false },
  { key: 'megatron-z1-toolkit', label: 'Megatron-SP, ZeRO-1, toolkit + bf16 saved activations', mode: 'megatron', P: 4, stage: 1, toolkit: true, bf16: true },
  { key: 'ring-z3-toolkit', label: 'Ring (zigzag), ZeRO-3, toolkit + bf16 saved activations', mode: 'ring', P: 4, stage: 3, toolkit: true, bf16: true },
  { key: 'hybrid-z3-toolkit', label: 'Hybrid Ulysses 2 x ring 2, ZeRO-3, toolkit + bf16 saved activations', mode: 'hybrid', P: 4, stage: 3, toolkit: true, bf16: true, ringSize: 2 },
];

/** The reference model under a setup at sequence length N, one quiet step, no validation, threads ranks. */
export function setupConfig(s: Setup, N: number, outDir: string, steps = 1): UlyssesConfig {
  const value = {
    train_micro_batch_size_per_gpu: 1,
    gradient_accumulation_steps: 1,
    sequence_parallel_size: s.P,
    data_parallel_size: 1,
    sequence_parallel: { mode: s.mode, ...(s.ringSize !== undefined ? { ring_size: s.ringSize } : {}) },
    zero_optimization: { stage: s.stage },
    activation_checkpointing: s.toolkit
      ? { enabled: true, mlp_tile_tokens: 'auto', logits_tile_tokens: 'auto', bf16_activations: s.bf16 }
      : { enabled: false, mlp_tile_tokens: 0, logits_tile_tokens: 0, bf16_activations: false },
    model: { type: 'gpt', d_model: 256, n_layers: 4, n_heads: 8, n_kv_heads: 'auto', vocab_size: 256, d_ff: 'auto', max_seq_len: N },
    data: { corpus: 'brown', tokenizer: 'bytes', seq_len: N, val_fraction: 0, val_every: 0, pack_documents: false },
    train: { steps, backend: 'threads', out_dir: outDir, run_name: `${s.key}-n${N}`, checkpoint_every: 0, init_from: null },
    scheduler: { params: { warmup_num_steps: 'auto', total_num_steps: 'auto' } },
  };
  return buildConfig([{ kind: 'json', value, source: 'bench/longest-seq' }]);
}
