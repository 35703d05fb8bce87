// ZeRO stage 2: every rank keeps all parameters (the model reads them in place), but gradients
// and AdamW moments live only in shards over the dp × sp group. The model's flat gradient buffer
// is released: in backward each unit's gradient goes to a buffer that is reduce-scattered into
// this rank's gradient shard as soon as the unit is done (overlapping the rest of the backward),
// so no rank ever holds the whole gradient. After AdamW on its shard, each rank all-gathers the
// updated parameters back into the full buffer. Shards are cut per unit into P equal padded chunks,
// the layout ZeRO-3 uses, so every per-unit reduce-scatter is balanced (see unit-sharded.ts).
import type { Kernels } from '../../kernels/kernels.js';
import type { CausalLM } from '../../nn/causal-lm.js';
import type { ParameterStore } from '../../nn/parameters.js';
import { gatherShards, gatherShardsInto } from './collect.js';
import type { FullModelState, ModelStateMemory, StateVector } from './engine.js';
import type { GroupOps } from './group-ops.js';
import type { AdamWHyper } from './shard-adamw.js';
import { UnitShardedState } from './unit-sharded.js';

export class Zero2State extends UnitShardedState {
  override readonly stage = 2;
  private readonly params: ParameterStore;

  constructor(kernels: Kernels, model: CausalLM, hyper: AdamWHyper, ops: GroupOps) {
    super(kernels, model, hyper, ops, (params) => {
      params.releaseGrads(
        'the gradients are reduce-scattered into shards over the dp × sp group during backward (ZeRO-2): read them through the model state engine',
      );
      return params;
    });
    this.params = model.params;
  }

  override step(lr: number, gradScale: number): void {
    super.step(lr, gradScale);
    gatherShardsInto(this.layout, this.ops, this.p, this.params.data);
  }

  override fullVector(kind: StateVector, keep: boolean): Float32Array | null {
    if (kind === 'params') return keep ? this.params.data : null;
    const shard = kind === 'grads' ? this.g : kind === 'exp_avg' ? this.adam.m : this.adam.v;
    return gatherShards(this.layout, this.ops, shard, keep);
  }

  override loadFull(state: FullModelState, step: number): void {
    super.loadFull(state, step);
    this.params.data.set(state.params);
  }

  override memory(): ModelStateMemory {
    return {
      // The full parameters the model reads, and the shard AdamW updates.
      params: this.params.paddedData.byteLength + this.p.byteLength,
      grads: this.g.byteLength,
      optimizer: this.adam.m.byteLength + this.adam.v.byteLength,
      comm: this.provider.bufferBytes,
    };
  }
}
