// Program every rank runs in ulysses-training.test.ts: the real trainer with DistributedAttention
// over its sequence-parallel group, its shard of the global batches, and gradients summed over
// dp × sp. Returns the first step's loss and summed gradients and the parameters after all steps.
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { createModel } from '../../src/nn/create-model.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
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
}

export function main(comm: Communicator, k: ParallelCase): TrainRankResult {
  const c = caseConfig(k, k.sp, k.dp, k.B);
  const groups = rankGroups(makeGrid({ dp: k.dp, sp: k.sp }), comm.rank);
  const kernels = kernelsFor(k.kernels, 1);
  const attention = new DistributedAttention(new LocalAttention(kernels), comm, groups.sp, { seqLen: k.N });
  const model = createModel(checkedModelConfig(c), { kernels, seed: c.seed, attention });
  const data = new ShardedBatchSource(new ListSource(caseBatches(k)), {
    dpRank: groups.coords.dp, dp: k.dp, spRank: groups.coords.sp, sp: k.sp,
  });
  const trainer = new Trainer({
    config: c, model, kernels, data, val: null, dataTokens: 0, runDir: null, flopsPerToken: null, peakFlops: null,
    sync: new CollectiveSync(comm, groups.zero),
  });
  const first = trainer.trainStep();
  const leader = comm.rank === 0;
  const grads1 = leader ? Float32Array.from(model.params.grads) : new Float32Array(0);
  const losses = [first.loss];
  for (let s = 1; s < k.steps; s++) losses.push(trainer.trainStep().loss);
  let abs = 0;
  for (const x of model.params.data) abs += Math.abs(x);
  return {
    loss1: first.loss, gradNorm1: first.grad_norm, grads1, losses,
    params: leader ? Float32Array.from(model.params.data) : new Float32Array(0),
    paramsAbsSum: abs, a2aBytes1: first.comm_a2a_bytes_sent ?? -1,
  };
}
