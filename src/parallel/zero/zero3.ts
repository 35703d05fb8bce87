// ZeRO stage 3: parameters, gradients and AdamW moments all live in shards over the dp × sp group.
// The model's own flat buffers are released; it reads every unit (one block, or the embeddings
// with final norm and head) through UnitGatherProvider, which all-gathers the unit from the shards
// and reduce-scatters its gradient back. Each unit is split into P equal padded chunks, so every
// per-unit collective is balanced (see unit-sharded.ts).
import type { Kernels } from '../../kernels/kernels.js';
import type { CausalLM } from '../../nn/causal-lm.js';
import { gatherShards } from './collect.js';
import type { ModelStateMemory, StateVector } from './engine.js';
import type { GroupOps } from './group-ops.js';
import type { AdamWHyper } from './shard-adamw.js';
import { UnitShardedState } from './unit-sharded.js';

export class Zero3State extends UnitShardedState {
  override readonly stage = 3;

  /** Takes the model's freshly initialised parameters, keeps this rank's shard and releases the rest. */
  constructor(kernels: Kernels, model: CausalLM, hyper: AdamWHyper, ops: GroupOps) {
    super(kernels, model, hyper, ops, (params) => {
      params.releaseStorage(
        'the parameters are sharded over the dp × sp group (ZeRO-3): read them through the model state engine, not the ParameterStore',
      );
      return null;
    });
  }

  override fullVector(kind: StateVector, keep: boolean): Float32Array | null {
    const shard = kind === 'params' ? this.p : kind === 'grads' ? this.g : kind === 'exp_avg' ? this.adam.m : this.adam.v;
    return gatherShards(this.layout, this.ops, shard, keep);
  }

  override memory(): ModelStateMemory {
    return {
      params: this.p.byteLength,
      grads: this.g.byteLength,
      optimizer: this.adam.m.byteLength + this.adam.v.byteLength,
      comm: this.provider.bufferBytes,
    };
  }
}
