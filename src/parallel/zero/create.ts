// Picks the model-state engine for a ZeRO stage, and the padding the model's flat buffers need
// for it; also the per-rank bytes each stage needs, from the parameter layout alone (for planning
// before any buffer exists).
import type { Kernels } from '../../kernels/kernels.js';
import type { CausalLM } from '../../nn/causal-lm.js';
import type { ModelLayout } from '../../nn/create-model.js';
import type { ModelStateEngine, ModelStateMemory, ZeroStage } from './engine.js';
import { FlatShardedState } from './flat-sharded.js';
import type { GroupOps } from './group-ops.js';
import { ShardLayout } from './layout.js';
import { ReplicatedState } from './replicated.js';
import type { AdamWHyper } from './shard-adamw.js';
import { Zero2State } from './zero2.js';
import { Zero3State } from './zero3.js';

/** The padParamsTo a model needs under this stage and group size (ZeRO-1 splits the flat buffers into equal chunks). */
export function paramPadding(stage: ZeroStage, groupSize: number): number {
  return stage === 1 ? groupSize : 1;
}

export function createModelStateEngine(
  stage: ZeroStage, model: CausalLM, kernels: Kernels, hyper: AdamWHyper, ops: GroupOps,
): ModelStateEngine {
  if (stage === 0) return new ReplicatedState(kernels, model.params, hyper, ops);
  if (stage === 1) return new FlatShardedState(kernels, model.params, hyper, ops);
  if (stage === 2) return new Zero2State(kernels, model, hyper, ops);
  return new Zero3State(kernels, model, hyper, ops);
}

/** Bytes of model states one rank holds under `stage` with a group of P (every rank holds the same). */
export function expectedModelStateMemory(stage: ZeroStage, layout: ModelLayout, P: number): ModelStateMemory {
  const f = 4; // fp32
  const n = layout.numel;
  if (stage === 0) return { params: f * n, grads: f * n, optimizer: 2 * f * n, comm: 0 };
  if (stage === 1) {
    const c = Math.ceil(n / P);
    return { params: f * P * c, grads: f * P * c, optimizer: 2 * f * c, comm: 0 };
  }
  const l = ShardLayout.units(layout.infos, layout.units, P, 0);
  const maxChunk = Math.max(0, ...l.segments.map((s) => s.chunk));
  const S = l.shardSize;
  const gradBuffers = 2 * (P * maxChunk + maxChunk); // filling + reducing, each with its reduce-scatter output
  if (stage === 2) return { params: f * (n + S), grads: f * S, optimizer: 2 * f * S, comm: f * gradBuffers };
  return { params: f * S, grads: f * S, optimizer: 2 * f * S, comm: f * (2 * P * maxChunk + gradBuffers) };
}
