// Program every rank runs in ulysses-training.test.ts and the ZeRO tests: the real trainer with
// DistributedAttention over its sequence-parallel group, its shard of the global batches, and the
// model states of the case's ZeRO stage over dp × sp. Returns the first step's loss and summed
// gradients and the parameters after all steps (consolidated from the shards where sharded).
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { createModel } from '../../src/nn/create-model.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { paramPadding } from '../../src/parallel/zero/create.js';
import type { ModelStateMemory } from '../../src/parallel/zero/engine.js';
import { ShardedBatchSource } from '../../src/train/data/sharded-source.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { CollectiveSync } from '../../src/train/step-sync.js';
import { Trainer } from '../../src/train/trainer.js';
import { caseBatches, caseConfig, ListSource, type ParallelCase } from './fixtures.js';

export interface TrainRankResult {
  readonly loss1: number;
  readonly gradNorm1: number;
  /** Gradients after the first step's reduction (rank 0 only; empty elsewhere). */
  readonly grads1: Float32Array;
  /** Parameters after every step (rank 0 only). */
  readonly params: Float32Array;
  readonly losses: number[];
  /** Sum of |param| on this rank: equal on every rank when the replicas stay identical. */
  readonly paramsAbsSum: number;
  /** Bytes this rank sent in the all-to-alls of step 1 (attention only). */
  readonly a2aBytes1: number;
  /** Model-state bytes this rank holds, and its activation bytes, after the last step. */
  readonly memory: ModelStateMemory;
  readonly activationBytes: number;
}

export function main(comm: Communicator, k: ParallelCase): TrainRankResult {
  const c = caseConfig(k, k.sp, k.dp, k.B);
  const groups = rankGroups(makeGrid({ dp: k.dp, sp: k.sp }), comm.rank);
  const kernels = kernelsFor(k.kernels, 1);
  const attention = new DistributedAttention(new LocalAttention(kernels), comm, groups.sp, { seqLen: k.N });
  const padParamsTo = paramPadding(c.zero_optimization.stage, k.sp * k.dp);
  const model = createModel(checkedModelConfig(c), { kernels, seed: c.seed, attention, padParamsTo });
  const data = new ShardedBatchSource(new ListSource(caseBatches(k)), {
    dpRank: groups.coords.dp, dp: k.dp, spRank: groups.coords.sp, sp: k.sp,
  });
  const trainer = new Trainer({
    config: c, model, kernels, data, val: null, dataTokens: 0, runDir: null, flopsPerToken: null, peakFlops: null,
    sync: new CollectiveSync(comm, groups.zero),
  });
  const first = trainer.trainStep();
  const leader = comm.rank === 0;
  // Collective under ZeRO: every rank takes part, rank 0 keeps the whole reduced gradient.
  const grads1 = trainer.engine.fullVector('grads', leader)?.slice() ?? new Float32Array(0);
  const losses = [first.loss];
  for (let s = 1; s < k.steps; s++) losses.push(trainer.trainStep().loss);
  const params = trainer.engine.fullVector('params', true) ?? new Float32Array(0);
  let abs = 0;
  for (const x of params) abs += Math.abs(x);
  return {
    loss1: first.loss, gradNorm1: first.grad_norm, grads1, losses,
    params: leader ? Float32Array.from(params) : new Float32Array(0),
    paramsAbsSum: abs, a2aBytes1: first.comm_a2a_bytes_sent ?? -1,
    memory: trainer.engine.memory(), activationBytes: model.activationBytes(),
  };
}
