// ZeRO stage 2: every rank keeps all parameters (the model reads them in place), but gradients
// and AdamW moments live only in shards over the dp × sp group. The model's flat gradient buffer
// is released: in backward each unit's gradient goes to a buffer that is reduce-scattered into
// this rank's gradient shard as soon as the unit is done (overlapping the rest of the backward),
// so no rank ever holds the whole gradient. After AdamW on its shard, each rank all-gathers the
// updated parameters back into the full buffer. Shards are cut per unit into P equal padded chunks,
// the layout ZeRO-3 uses, so every per-unit reduce-scatter is balanced.
import type { Kernels } from '../../kernels/kernels.js';
import type { CausalLM } from '../../nn/causal-lm.js';
import type { ParameterStore } from '../../nn/parameters.js';
import { gatherShards, gatherShardsInto, sliceShard } from './collect.js';
import type { FullModelState, ModelStateEngine, ModelStateMemory, StateVector } from './engine.js';
import type { GroupOps } from './group-ops.js';
import { ShardLayout } from './layout.js';
import { ShardAdamW, sumOfSquares, type AdamWHyper } from './shard-adamw.js';
import { UnitGatherProvider } from './unit-gather.js';

export class Zero2State implements ModelStateEngine {
  readonly stage = 2;
  readonly layout: ShardLayout;
  readonly adam: ShardAdamW;
  readonly provider: UnitGatherProvider;
  private readonly params: ParameterStore;
  private readonly p: Float32Array; // [shardSize] this rank's parameters, the ones AdamW updates
  private readonly g: Float32Array; // [shardSize] this rank's summed gradients

  constructor(kernels: Kernels, model: CausalLM, hyper: AdamWHyper, private readonly ops: GroupOps) {
    this.params = model.params;
    this.layout = ShardLayout.units(this.params.infos, model.paramUnits(), ops.size, ops.index);
    const n = this.layout.shardSize;
    this.p = new Float32Array(n);
    this.g = new Float32Array(n);
    sliceShard(this.layout, this.params.data, this.p);
    this.adam = new ShardAdamW(kernels, n, this.layout.decayRuns(this.params.infos), hyper);
    this.params.releaseGrads(
      'the gradients are reduce-scattered into shards over the dp × sp group during backward (ZeRO-2): read them through the model state engine',
    );
    this.provider = new UnitGatherProvider(this.layout, this.params.infos, ops, this.p, this.g, this.params);
    model.setParamProvider(this.provider);
  }

  get groupSize(): number {
    return this.ops.size;
  }

  get optimizerStep(): number {
    return this.adam.step;
  }

  set optimizerStep(s: number) {
    this.adam.step = s;
  }

  zeroGrads(): void {
    this.provider.flush();
    this.g.fill(0);
  }

  reduceGradients(): number {
    this.provider.flush();
    return Math.sqrt(this.ops.sumNumber(sumOfSquares(this.g)));
  }

  step(lr: number, gradScale: number): void {
    this.provider.invalidate();
    this.adam.update(this.p, this.g, lr, gradScale);
    gatherShardsInto(this.layout, this.ops, this.p, this.params.data);
  }

  fullVector(kind: StateVector, keep: boolean): Float32Array | null {
    if (kind === 'params') return keep ? this.params.data : null;
    const shard = kind === 'grads' ? this.g : kind === 'exp_avg' ? this.adam.m : this.adam.v;
    return gatherShards(this.layout, this.ops, shard, keep);
  }

  loadFull(state: FullModelState, step: number): void {
    this.provider.invalidate();
    this.params.data.set(state.params);
    sliceShard(this.layout, state.params, this.p);
    sliceShard(this.layout, state.exp_avg, this.adam.m);
    sliceShard(this.layout, state.exp_avg_sq, this.adam.v);
    this.adam.step = step;
  }

  memory(): ModelStateMemory {
    return {
      // The full parameters the model reads, and the shard AdamW updates.
      params: this.params.paddedData.byteLength + this.p.byteLength,
      grads: this.g.byteLength,
      optimizer: this.adam.m.byteLength + this.adam.v.byteLength,
      comm: this.provider.bufferBytes,
    };
  }
}
