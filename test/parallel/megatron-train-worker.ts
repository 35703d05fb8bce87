// Program every rank runs in megatron-training.test.ts (threads) and megatron-training-mpi.test.ts:
// the real Trainer with the Megatron-SP GPT over its sp group and its model-state engine over
// dp × tp, on its shard of the global batches. Returns the first step's loss, whole reduced
// gradient and sp-group bytes, and the whole parameters after every step. A case may turn on the
// memory toolkit.
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { createMegatronSpTraining } from '../../src/parallel/megatron-sp/create.js';
import { ShardedBatchSource } from '../../src/train/data/sharded-source.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { CollectiveSync } from '../../src/train/step-sync.js';
import { Trainer } from '../../src/train/trainer.js';
import { caseBatches, caseConfig, ListSource } from './fixtures.js';
import type { MegatronCase } from './megatron-equivalence.js';
import type { TrainRankResult } from './train-worker.js';

export function main(comm: Communicator, k: MegatronCase): TrainRankResult {
  const c = caseConfig(k, k.sp, k.dp, k.B);
  const groups = rankGroups(makeGrid({ dp: k.dp, sp: k.sp }), comm.rank);
  const kernels = kernelsFor(k.kernels, 1);
  const tp = createMegatronSpTraining(checkedModelConfig(c), {
    comm, groups, seqLen: k.N, kernels, seed: c.seed, hyper: c.optimizer.params, zeroStage: k.zeroStage ?? 0,
    ...(k.memory ? { memory: k.memory } : {}),
  });
  const data = new ShardedBatchSource(new ListSource(caseBatches(k)), {
    dpRank: groups.coords.dp, dp: k.dp, spRank: groups.coords.sp, sp: k.sp,
  });
  const trainer = new Trainer({
    config: c, model: tp.model, kernels, data, val: null, dataTokens: 0, runDir: null, flopsPerToken: null, peakFlops: null,
    sync: new CollectiveSync(comm, groups.zero), modelState: tp.modelState,
  });
  const first = trainer.trainStep();
  const leader = comm.rank === 0;
  const grads1 = trainer.engine.fullVector('grads', leader)?.slice() ?? new Float32Array(0);
  const losses = [first.loss];
  for (let s = 1; s < k.steps; s++) losses.push(trainer.trainStep().loss);
  const params = trainer.engine.fullVector('params', true);
  // Replicas of the same slices (other dp ranks) must match too: each sums its own local vector.
  let abs = 0;
  for (const x of tp.model.params.data) abs += Math.abs(x);
  return {
    loss1: first.loss, gradNorm1: first.grad_norm, grads1, losses,
    params: leader && params ? Float32Array.from(params) : new Float32Array(0),
    paramsAbsSum: abs, a2aBytes1: first.comm_a2a_bytes_sent ?? -1,
    memory: trainer.engine.memory(), activationBytes: tp.model.activationBytes(),
  };
}
