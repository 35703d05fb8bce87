// ZeRO stage 1: every rank keeps all parameters and gradients (the model reads and writes them as
// usual) and owns one contiguous chunk of the flat vector, padded so that chunks are equal: it
// holds the AdamW moments of that chunk only, updates only it, and all-gathers the parameters
// afterwards. The gradient is all-reduced as at stage 0 and the norm summed over the chunks.
import type { Kernels } from '../../kernels/kernels.js';
import type { ParameterStore } from '../../nn/parameters.js';
import { gatherShards, sliceShard } from './collect.js';
import type { FullModelState, ModelStateEngine, ModelStateMemory, StateVector } from './engine.js';
import type { GroupOps } from './group-ops.js';
import { ShardLayout } from './layout.js';
import { ShardAdamW, sumOfSquares, type AdamWHyper } from './shard-adamw.js';

export class FlatShardedState implements ModelStateEngine {
  readonly stage = 1;
  readonly layout: ShardLayout;
  readonly adam: ShardAdamW;
  /** Where this rank's chunk starts in the (padded) flat buffers. */
  private readonly start: number;

  constructor(
    kernels: Kernels,
    private readonly params: ParameterStore,
    hyper: AdamWHyper,
    private readonly ops: GroupOps,
  ) {
    const P = ops.size;
    this.layout = ShardLayout.flat(params.numel, P, ops.index);
    const c = this.layout.shardSize;
    if (params.paddedNumel !== P * c) {
      throw new Error(
        `ZeRO-1: the model's flat buffers hold ${params.paddedNumel} elements; ${P} equal chunks need ${P * c} ` +
          `(build the model with padParamsTo ${P})`,
      );
    }
    this.start = ops.index * c;
    this.adam = new ShardAdamW(kernels, c, this.layout.decayRuns(params.infos), hyper);
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

  private own(buf: Float32Array): Float32Array {
    return buf.subarray(this.start, this.start + this.layout.shardSize);
  }

  /** This rank's chunk of the summed gradient (valid after reduceGradients). */
  private gradChunk(): Float32Array {
    return this.own(this.params.paddedGrads);
  }

  zeroGrads(): void {
    this.params.zeroGrads();
  }

  reduceGradients(): number {
    this.ops.allReduce(this.params.grads);
    return Math.sqrt(this.ops.sumNumber(sumOfSquares(this.gradChunk())));
  }

  step(lr: number, gradScale: number): void {
    const mine = this.own(this.params.paddedData);
    this.adam.update(mine, this.gradChunk(), lr, gradScale);
    // Every chunk, this rank's own included, lands in place in the padded parameter buffer.
    this.ops.allGather(mine, this.params.paddedData);
  }

  fullVector(kind: StateVector, keep: boolean): Float32Array | null {
    if (kind === 'params') return keep ? this.params.data : null;
    if (kind === 'grads') return keep ? this.params.grads : null;
    const shard = kind === 'exp_avg' ? this.adam.m : this.adam.v;
    return gatherShards(this.layout, this.ops, shard, keep);
  }

  loadFull(state: FullModelState, step: number): void {
    this.params.data.set(state.params);
    sliceShard(this.layout, state.exp_avg, this.adam.m);
    sliceShard(this.layout, state.exp_avg_sq, this.adam.v);
    this.adam.step = step;
  }

  memory(): ModelStateMemory {
    return {
      params: this.params.paddedData.byteLength,
      grads: this.params.paddedGrads.byteLength,
      optimizer: this.adam.m.byteLength + this.adam.v.byteLength,
      comm: 0,
    };
  }
}
