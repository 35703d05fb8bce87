// Stage 0: every rank holds all parameters, gradients and moments; gradients are all-reduced
// over the group and every rank takes the identical AdamW step.
import type { Kernels } from '../../kernels/kernels.js';
import type { ParameterStore } from '../../nn/parameters.js';
import type { FullModelState, ModelStateEngine, ModelStateMemory, StateVector } from './engine.js';
import type { GroupOps } from './group-ops.js';
import { ShardAdamW, sumOfSquares, type AdamWHyper, type DecayRun } from './shard-adamw.js';

/** Runs of neighbouring parameters that share a weight-decay setting, over the whole flat vector. */
export function fullDecayRuns(params: ParameterStore): DecayRun[] {
  const runs: DecayRun[] = [];
  for (const info of [...params.infos].sort((a, b) => a.offset - b.offset)) {
    const last = runs[runs.length - 1];
    if (last && last.decay === info.decay && last.at + last.size === info.offset) last.size += info.size;
    else runs.push({ at: info.offset, size: info.size, decay: info.decay });
  }
  return runs;
}

export class ReplicatedState implements ModelStateEngine {
  readonly stage = 0;
  readonly adam: ShardAdamW;

  constructor(kernels: Kernels, private readonly params: ParameterStore, hyper: AdamWHyper, private readonly ops: GroupOps) {
    this.adam = new ShardAdamW(kernels, params.numel, fullDecayRuns(params), hyper);
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
    this.params.zeroGrads();
  }

  reduceGradients(): number {
    this.ops.allReduce(this.params.grads);
    return Math.sqrt(sumOfSquares(this.params.grads));
  }

  step(lr: number, gradScale: number): void {
    this.adam.update(this.params.data, this.params.grads, lr, gradScale);
  }

  fullVector(kind: StateVector, keep: boolean): Float32Array | null {
    if (!keep) return null;
    const p = this.params;
    return kind === 'params' ? p.data : kind === 'grads' ? p.grads : kind === 'exp_avg' ? this.adam.m : this.adam.v;
  }

  loadFull(state: FullModelState, step: number): void {
    this.params.data.set(state.params);
    this.adam.m.set(state.exp_avg);
    this.adam.v.set(state.exp_avg_sq);
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
