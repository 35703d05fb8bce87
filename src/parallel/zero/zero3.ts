// ZeRO stage 3: parameters, gradients and AdamW moments all live in shards over the dp × sp group.
// The model's own flat buffers are released; it reads every unit (one block, or the embeddings
// with final norm and head) through UnitGatherProvider, which all-gathers the unit from the shards
// and reduce-scatters its gradient back. Each unit is split into P equal padded chunks, so every
// per-unit collective is balanced.
import type { Kernels } from '../../kernels/kernels.js';
import type { CausalLM } from '../../nn/causal-lm.js';
import { gatherShards, sliceShard } from './collect.js';
import type { FullModelState, ModelStateEngine, ModelStateMemory, StateVector } from './engine.js';
import type { GroupOps } from './group-ops.js';
import { ShardLayout } from './layout.js';
import { ShardAdamW, sumOfSquares, type AdamWHyper } from './shard-adamw.js';
import { UnitGatherProvider } from './unit-gather.js';

export class Zero3State implements ModelStateEngine {
  readonly stage = 3;
  readonly layout: ShardLayout;
  readonly adam: ShardAdamW;
  readonly provider: UnitGatherProvider;
  private readonly p: Float32Array; // [shardSize] this rank's parameters
  private readonly g: Float32Array; // [shardSize] this rank's summed gradients

  /** Takes the model's freshly initialised parameters, keeps this rank's shard and releases the rest. */
  constructor(kernels: Kernels, model: CausalLM, hyper: AdamWHyper, private readonly ops: GroupOps) {
    const params = model.params;
    this.layout = ShardLayout.units(params.infos, model.paramUnits(), ops.size, ops.index);
    const n = this.layout.shardSize;
    this.p = new Float32Array(n);
    this.g = new Float32Array(n);
    sliceShard(this.layout, params.data, this.p);
    this.adam = new ShardAdamW(kernels, n, this.layout.decayRuns(params.infos), hyper);
    params.releaseStorage(
      'the parameters are sharded over the dp × sp group (ZeRO-3): read them through the model state engine, not the ParameterStore',
    );
    this.provider = new UnitGatherProvider(this.layout, params.infos, ops, this.p, this.g);
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
  }

  fullVector(kind: StateVector, keep: boolean): Float32Array | null {
    const shard = kind === 'params' ? this.p : kind === 'grads' ? this.g : kind === 'exp_avg' ? this.adam.m : this.adam.v;
    return gatherShards(this.layout, this.ops, shard, keep);
  }

  loadFull(state: FullModelState, step: number): void {
    this.provider.invalidate();
    sliceShard(this.layout, state.params, this.p);
    sliceShard(this.layout, state.exp_avg, this.adam.m);
    sliceShard(this.layout, state.exp_avg_sq, this.adam.v);
    this.adam.step = step;
  }

  memory(): ModelStateMemory {
    return {
      params: this.p.byteLength,
      grads: this.g.byteLength,
      optimizer: this.adam.m.byteLength + this.adam.v.byteLength,
      comm: this.provider.bufferBytes,
    };
  }
}
