// Model states of a Megatron-SP run (ZeRO stage 0): every rank holds its tp slices and full copies
// of the replicated parameters, with AdamW moments for exactly those. A sharded slice's gradient
// is already complete over the sequence (its layer saw every token), so it is summed over dp only;
// a replicated parameter's gradient holds this rank's tokens' share, so it is summed over dp × tp.
// The global norm counts each replicated element once and each slice once, so every rank clips
// alike and replicas stay identical.
//
// Shape legend: M = this rank's parameter count, Mr = its replicated prefix, P = tp degree,
// Mf = the whole model's parameter count.
import type { Kernels } from '../../kernels/kernels.js';
import type { ParameterInfo, ParameterStore } from '../../nn/parameters.js';
import type { FullModelState, ModelStateEngine, ModelStateMemory, StateVector } from '../zero/engine.js';
import type { GroupOps } from '../zero/group-ops.js';
import { fullDecayRuns } from '../zero/replicated.js';
import { ShardAdamW, sumOfSquares, type AdamWHyper } from '../zero/shard-adamw.js';
import type { TpLayout } from './tp-layout.js';

export interface TpGroupOps {
  /** The tp (= sp) group: the ranks that share every sequence and split the weights. */
  tp: GroupOps;
  /** The ranks that hold the same slices of different batches. */
  dp: GroupOps;
  /** dp × tp: every rank that trains on different tokens. */
  zero: GroupOps;
}

/**
 * Collective over the tp group of data-parallel replica 0 (the others return null at once): the
 * whole model's vector in the one-worker layout from every tp rank's local vector mine[M], on the
 * member that asks to keep it.
 */
export function gatherWholeVector(
  ops: TpGroupOps, layout: TpLayout, infos: readonly ParameterInfo[], mine: Float32Array, keep: boolean,
): Float32Array | null {
  if (ops.dp.index !== 0) return null;
  const P = ops.tp.size;
  const all = new Float32Array(P * mine.length); // [P, M]
  ops.tp.allGather(mine, all);
  if (!keep) return null;
  const full = new Float32Array(layout.fullNumel); // [Mf]
  for (let r = 0; r < P; r++) layout.putLocal(all.subarray(r * mine.length, (r + 1) * mine.length), full, infos, r);
  return full;
}

/** Sums gradients (replicated ones over dp × tp, slices over dp); returns the global norm, each element counted once. */
export function reduceTpGradients(ops: TpGroupOps, grads: Float32Array, replicatedNumel: number): number {
  const rep = grads.subarray(0, replicatedNumel); // [Mr]
  const sliced = grads.subarray(replicatedNumel); // [M - Mr]
  ops.zero.allReduce(rep);
  ops.dp.allReduce(sliced);
  return Math.sqrt(sumOfSquares(rep) + ops.tp.sumNumber(sumOfSquares(sliced)));
}

export class TpReplicatedState implements ModelStateEngine {
  readonly stage = 0;
  readonly adam: ShardAdamW;

  constructor(
    kernels: Kernels, private readonly params: ParameterStore, private readonly layout: TpLayout,
    hyper: AdamWHyper, private readonly ops: TpGroupOps,
  ) {
    if (params.paddedNumel !== params.numel) throw new RangeError('TpReplicatedState: the parameter store must not be padded');
    this.adam = new ShardAdamW(kernels, params.numel, fullDecayRuns(params), hyper);
  }

  get groupSize(): number {
    return this.ops.zero.size;
  }

  get optimizerStep(): number {
    return this.adam.step;
  }

  set optimizerStep(s: number) {
    this.adam.step = s;
  }

  zeroGrads(): void {
    this.params.zeroGrads();
  }

  reduceGradients(): number {
    return reduceTpGradients(this.ops, this.params.grads, this.layout.replicatedNumel);
  }

  step(lr: number, gradScale: number): void {
    this.adam.update(this.params.data, this.params.grads, lr, gradScale);
  }

  private local(kind: StateVector): Float32Array {
    const p = this.params;
    return kind === 'params' ? p.data : kind === 'grads' ? p.grads : kind === 'exp_avg' ? this.adam.m : this.adam.v;
  }

  /**
   * Collective over the tp group of data-parallel replica 0 (the others hold the same states and
   * return at once): the whole model's vector in the one-worker model's layout, on the member that asks to keep it.
   */
  fullVector(kind: StateVector, keep: boolean): Float32Array | null {
    return gatherWholeVector(this.ops, this.layout, this.params.infos, this.local(kind), keep);
  }

  loadFull(state: FullModelState, step: number): void {
    const r = this.ops.tp.index;
    const infos = this.params.infos;
    this.layout.takeLocal(state.params, this.params.data, infos, r);
    this.layout.takeLocal(state.exp_avg, this.adam.m, infos, r);
    this.layout.takeLocal(state.exp_avg_sq, this.adam.v, infos, r);
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
