// What ZeRO-2 and ZeRO-3 share: parameter, gradient and AdamW moment shards cut per model unit over
// the dp × sp group, and a UnitGatherProvider that reduce-scatters each unit's gradient into the
// gradient shard during backward. The stages differ only in which of the model's own buffers they
// release and in whether the full parameters stay resident (ZeRO-2) or are gathered per unit (ZeRO-3).
import type { Kernels } from '../../kernels/kernels.js';
import type { CausalLM } from '../../nn/causal-lm.js';
import type { ParamViews } from '../../nn/param-provider.js';
import type { ParameterStore } from '../../nn/parameters.js';
import { sliceShard } from './collect.js';
import type { FullModelState, ModelStateEngine, ModelStateMemory, StateVector, ZeroStage } from './engine.js';
import type { GroupOps } from './group-ops.js';
import { ShardLayout } from './layout.js';
import { ShardAdamW, sumOfSquares, type AdamWHyper } from './shard-adamw.js';
import { UnitGatherProvider } from './unit-gather.js';

export abstract class UnitShardedState implements ModelStateEngine {
  abstract readonly stage: ZeroStage;
  readonly layout: ShardLayout;
  readonly adam: ShardAdamW;
  readonly provider: UnitGatherProvider;
  protected readonly p: Float32Array; // [shardSize] this rank's parameters, the ones AdamW updates
  protected readonly g: Float32Array; // [shardSize] this rank's summed gradients

  /**
   * Takes this rank's shard of the model's freshly initialised parameters, then calls `release`,
   * which drops the model buffers the stage replaces and returns where the full parameters stay
   * resident, or null to gather them per unit.
   */
  protected constructor(
    kernels: Kernels,
    model: CausalLM,
    hyper: AdamWHyper,
    protected readonly ops: GroupOps,
    release: (params: ParameterStore) => ParamViews | null,
  ) {
    const params = model.params;
    this.layout = ShardLayout.units(params.infos, model.paramUnits(), ops.size, ops.index);
    const n = this.layout.shardSize;
    this.p = new Float32Array(n);
    this.g = new Float32Array(n);
    sliceShard(this.layout, params.data, this.p);
    this.adam = new ShardAdamW(kernels, n, this.layout.decayRuns(params.infos), hyper);
    const resident = release(params);
    this.provider = new UnitGatherProvider(this.layout, params.infos, ops, this.p, this.g, resident);
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

  loadFull(state: FullModelState, step: number): void {
    this.provider.invalidate();
    sliceShard(this.layout, state.params, this.p);
    sliceShard(this.layout, state.exp_avg, this.adam.m);
    sliceShard(this.layout, state.exp_avg_sq, this.adam.v);
    this.adam.step = step;
  }

  abstract fullVector(kind: StateVector, keep: boolean): Float32Array | null;
  abstract memory(): ModelStateMemory;
}
