// FLOPs of a training step and the time they take under a stated efficiency model.
//
// Shape legend: B = sequences, N = tokens per sequence, C = d_model, KV = kv heads × head size,
// F = MLP width, V = vocabulary, L = layers.
//   GEMMs:      2 FLOPs per multiply-add over every weight matrix a token passes (the blocks and
//               the output head), forward once and backward twice: 6 · B·N · matmul weights
//   attention:  causal, so half of the N × N scores: forward 2·B·N²·C (q·kᵀ and p·v, each
//               B·N²·C), backward twice that: 6·B·N²·C per layer
//   recompute:  activation checkpointing runs every layer's forward again (+ one forward of the
//               GEMMs and of attention); tiling runs the MLP's forward again in backward
// Time = GEMM FLOPs / (peak × gemm efficiency) + attention FLOPs / (peak × attention efficiency).
import type { ModelConfig } from '../nn/model-config.js';

export interface EfficiencyModel {
  /** Share of peak a large bf16 GEMM sustains (default 0.75: cuBLAS on A100 / H100 at these shapes). */
  readonly gemm: number;
  /** Share of peak fused causal attention sustains, forward and backward (default 0.5: FlashAttention-2 on A100). */
  readonly attention: number;
  /** Share of the link's peak bandwidth a collective achieves (default 0.8: NCCL bus bandwidth). */
  readonly bandwidth: number;
}

export const DEFAULT_EFFICIENCY: EfficiencyModel = { gemm: 0.75, attention: 0.5, bandwidth: 0.8 };

/** Weights a token multiplies in one block: attention projections and MLP. */
export function blockMatmulWeights(c: ModelConfig): { attention: number; mlp: number } {
  const C = c.d_model;
  const KV = c.n_kv_heads * (C / c.n_heads);
  const F = c.d_ff;
  return c.arch === 'gpt'
    ? { attention: 4 * C * C, mlp: 2 * C * F }
    : { attention: 2 * C * C + 2 * C * KV, mlp: 3 * C * F };
}

export interface StepFlops {
  /** Model FLOPs (what MFU counts): GEMMs forward + backward and causal attention, no recompute. */
  readonly model: number;
  readonly gemm: number;
  readonly attention: number;
  /** What the GPUs execute: model FLOPs plus recompute. */
  readonly executedGemm: number;
  readonly executedAttention: number;
}

/** FLOPs of one step over B sequences of N tokens (the whole sequence-parallel group's work). */
export function stepFlops(c: ModelConfig, B: number, N: number, checkpointing: boolean, tiling: boolean): StepFlops {
  const w = blockMatmulWeights(c);
  const tokens = B * N;
  const fwdGemm = 2 * tokens * (c.n_layers * (w.attention + w.mlp) + c.d_model * c.vocab_size);
  const fwdAttn = 2 * B * N * N * c.d_model * c.n_layers;
  const gemm = 3 * fwdGemm;
  const attention = 3 * fwdAttn;
  const mlpForward = 2 * tokens * c.n_layers * w.mlp;
  const executedGemm = gemm + (checkpointing ? fwdGemm - 2 * tokens * c.d_model * c.vocab_size : 0) + (tiling ? mlpForward : 0);
  const executedAttention = attention + (checkpointing ? fwdAttn : 0);
  return { model: gemm + attention, gemm, attention, executedGemm, executedAttention };
}

/** Seconds the executed FLOPs take on one GPU that does `share` of them. */
export function computeSeconds(f: StepFlops, share: number, peak: number, e: EfficiencyModel): { gemm: number; attention: number } {
  return { gemm: (f.executedGemm * share) / (peak * e.gemm), attention: (f.executedAttention * share) / (peak * e.attention) };
}

/**
 * The FLOPs Megatron-DeepSpeed's throughput counter reports per step, which the paper's TFLOPs
 * figures use: 24·k·B·N·L·C²·(1 + N/(6C) + V/(16·L·C)), k = 4 with checkpointing (3 without).
 * It counts full (not causal) attention and the recompute, so it reads higher than model FLOPs.
 */
export function megatronFormulaFlops(c: ModelConfig, B: number, N: number, checkpointing: boolean): number {
  const C = c.d_model;
  const L = c.n_layers;
  const k = checkpointing ? 4 : 3;
  return 24 * k * B * N * L * C * C * (1 + N / (6 * C) + c.vocab_size / (16 * L * C));
}
