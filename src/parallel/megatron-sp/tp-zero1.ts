// ZeRO stage 1 for Megatron-SP's model states: every rank keeps its whole local vector of
// parameters and gradients (replicated parameters, then its tensor-parallel slices) but AdamW
// moments for only its share of it. The replicated run is the same on every rank of dp × tp, so
// it is split over that whole group; a rank's slices are the same only on its dp replicas, so
// they are split over dp. Shares are contiguous and uneven by at most one element (evenCounts),
// so nothing is padded. Gradients are summed as at stage 0; each rank updates its shares and an
// all-gather in place (over dp × tp, then over dp) hands every rank the updated vector.
//
// Shape legend: M = this rank's parameter count, Mr = its replicated prefix, Ms = M - Mr,
// Z = dp × tp ranks, D = dp ranks, Mf = the whole model's parameter count.
import { evenCounts, prefixOffsets } from '../../dist/collective-args.js';
import type { Communicator } from '../../dist/communicator.js';
import type { Group } from '../../dist/group.js';
import type { Kernels } from '../../kernels/kernels.js';
import type { ParameterStore } from '../../nn/parameters.js';
import type { FullModelState, ModelStateEngine, ModelStateMemory, StateVector } from '../zero/engine.js';
import { fullDecayRuns } from '../zero/replicated.js';
import { ShardAdamW, type AdamWHyper, type DecayRun } from '../zero/shard-adamw.js';
import type { TpLayout } from './tp-layout.js';
import { gatherWholeVector, reduceTpGradients, type TpGroupOps } from './tp-state.js';

/** One run of the local vector, [at, at + n), split over a group: this member updates [start, start + size). */
interface Share {
  at: number;
  n: number;
  group: Group;
  counts: number[]; // [G]
  start: number;
  size: number;
  adam: ShardAdamW;
}

/** Elements a member of `size` ranks owns of a run of n (member 0 has the most). */
export function tpShareSize(n: number, size: number, index = 0): number {
  return evenCounts(n, size)[index] as number;
}

export class TpZero1State implements ModelStateEngine {
  readonly stage = 1;
  private readonly shares: [Share, Share];

  constructor(
    kernels: Kernels, private readonly comm: Communicator, groups: { dp: Group; zero: Group },
    private readonly params: ParameterStore, private readonly layout: TpLayout, hyper: AdamWHyper, private readonly ops: TpGroupOps,
  ) {
    if (params.paddedNumel !== params.numel) throw new RangeError('TpZero1State: the parameter store must not be padded');
    const runs = fullDecayRuns(params);
    const share = (at: number, n: number, group: Group): Share => {
      const counts = evenCounts(n, group.ranks.length);
      const start = at + (prefixOffsets(counts)[group.index] as number);
      const size = counts[group.index] as number;
      return { at, n, group, counts, start, size, adam: new ShardAdamW(kernels, size, runsWithin(runs, start, size), hyper) };
    };
    const Mr = layout.replicatedNumel;
    this.shares = [share(0, Mr, groups.zero), share(Mr, params.numel - Mr, groups.dp)];
  }

  get groupSize(): number {
    return this.ops.zero.size;
  }

  get optimizerStep(): number {
    return this.shares[0].adam.step;
  }

  set optimizerStep(s: number) {
    for (const sh of this.shares) sh.adam.step = s;
  }

  zeroGrads(): void {
    this.params.zeroGrads();
  }

  reduceGradients(): number {
    return reduceTpGradients(this.ops, this.params.grads, this.layout.replicatedNumel);
  }

  step(lr: number, gradScale: number): void {
    const { data, grads } = this.params;
    for (const sh of this.shares) {
      const mine = data.subarray(sh.start, sh.start + sh.size); // this rank's share
      sh.adam.update(mine, grads.subarray(sh.start, sh.start + sh.size), lr, gradScale);
      // Every share, this rank's own included, lands in place in the run.
      if (sh.counts.length > 1) this.comm.allGather(mine, data.subarray(sh.at, sh.at + sh.n), sh.group, sh.counts);
    }
  }

  /** The local vector [M] of one moment, gathered from the shares (collective over dp × tp and dp). */
  private localMoment(kind: 'exp_avg' | 'exp_avg_sq'): Float32Array {
    const out = new Float32Array(this.params.numel); // [M]
    for (const sh of this.shares) {
      const mine = kind === 'exp_avg' ? sh.adam.m : sh.adam.v; // [size]
      const run = out.subarray(sh.at, sh.at + sh.n);
      if (sh.counts.length > 1) this.comm.allGather(mine, run, sh.group, sh.counts);
      else run.set(mine);
    }
    return out;
  }

  fullVector(kind: StateVector, keep: boolean): Float32Array | null {
    const p = this.params;
    const mine = kind === 'params' ? p.data : kind === 'grads' ? p.grads : this.localMoment(kind);
    return gatherWholeVector(this.ops, this.layout, p.infos, mine, keep);
  }

  loadFull(state: FullModelState, step: number): void {
    const r = this.ops.tp.index;
    const infos = this.params.infos;
    this.layout.takeLocal(state.params, this.params.data, infos, r);
    const local = new Float32Array(this.params.numel); // [M]
    for (const [from, kind] of [[state.exp_avg, 'm'], [state.exp_avg_sq, 'v']] as const) {
      this.layout.takeLocal(from, local, infos, r);
      for (const sh of this.shares) sh.adam[kind].set(local.subarray(sh.start, sh.start + sh.size));
    }
    this.optimizerStep = step;
  }

  memory(): ModelStateMemory {
    const moments = this.shares.reduce((b, sh) => b + sh.adam.m.byteLength + sh.adam.v.byteLength, 0);
    return { params: this.params.paddedData.byteLength, grads: this.params.paddedGrads.byteLength, optimizer: moments, comm: 0 };
  }
}

/** The parts of runs inside [start, start + size), relative to start. */
function runsWithin(runs: readonly DecayRun[], start: number, size: number): DecayRun[] {
  const out: DecayRun[] = [];
  for (const r of runs) {
    const a = Math.max(r.at, start);
    const b = Math.min(r.at + r.size, start + size);
    if (b > a) out.push({ at: a - start, size: b - a, decay: r.decay });
  }
  return out;
}
