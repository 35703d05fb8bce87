// Bytes of model states (parameters, gradients, optimizer state, ZeRO's gather and reduce buffers)
// one rank holds, by ZeRO stage over a group of Z ranks, for any precision. The engine's fp32
// instance (CPU_STATE_PRECISION) is what `expectedModelStateMemory` computes and the ZeRO engines
// report; the GPU instance is bf16 mixed precision with fp32 master weights (ZeRO paper, K = 12).
import type { ModelStateMemory, ZeroStage } from '../parallel/zero/engine.js';

/** Bytes per parameter of each kind of model state. */
export interface StatePrecision {
  /** The parameters the model computes with. */
  readonly param: number;
  /** The gradients backward writes. */
  readonly grad: number;
  /** Optimizer state: AdamW moments, plus the fp32 master copy under mixed precision. */
  readonly optimizer: number;
  /** ZeRO-2 only: the separate shard of parameters AdamW updates (the engine's fp32 run keeps one; 0 when the master copy is that shard). */
  readonly stage2ParamShard: number;
}

/** The engine on CPUs: fp32 parameters, gradients and two fp32 AdamW moments (4 + 4 + 8). */
export const CPU_STATE_PRECISION: StatePrecision = { param: 4, grad: 4, optimizer: 8, stage2ParamShard: 4 };

/** GPUs: bf16 parameters and gradients, fp32 master weights and AdamW moments (2 + 2 + 12). */
export const GPU_MIXED_PRECISION: StatePrecision = { param: 2, grad: 2, optimizer: 12, stage2ParamShard: 0 };

/**
 * Per-rank bytes of model states. units: elements of each ZeRO unit (the embeddings with final
 * norm and head, then one per block), cut into Z equal padded chunks at stages 2 and 3; stage 1
 * pads the whole vector to Z equal chunks. Stages 2 and 3 keep two gradient buffers (filling and
 * reducing, each with its reduce-scatter output) and stage 3 two gathered units (current and prefetch).
 */
export function modelStateBytes(stage: ZeroStage, units: readonly number[], Z: number, p: StatePrecision): ModelStateMemory {
  const n = units.reduce((s, u) => s + u, 0);
  if (stage === 0) return { params: p.param * n, grads: p.grad * n, optimizer: p.optimizer * n, comm: 0 };
  if (stage === 1) {
    const c = Math.ceil(n / Z);
    return { params: p.param * Z * c, grads: p.grad * Z * c, optimizer: p.optimizer * c, comm: 0 };
  }
  const chunks = units.map((u) => Math.ceil(u / Z));
  const S = chunks.reduce((s, c) => s + c, 0);
  const maxChunk = Math.max(0, ...chunks);
  const gradBuffers = p.grad * 2 * (Z * maxChunk + maxChunk);
  if (stage === 2) return { params: p.param * n + p.stage2ParamShard * S, grads: p.grad * S, optimizer: p.optimizer * S, comm: gradBuffers };
  return { params: p.param * S, grads: p.grad * S, optimizer: p.optimizer * S, comm: p.param * 2 * Z * maxChunk + gradBuffers };
}

export function stateTotal(m: ModelStateMemory): number {
  return m.params + m.grads + m.optimizer + m.comm;
}
