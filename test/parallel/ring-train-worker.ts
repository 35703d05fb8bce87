// Program every rank runs in ring-training.test.ts (threads) and ring-training-mpi.test.ts (mpi):
// the real trainer with ring attention (mode "ring") or Ulysses x ring attention (mode "hybrid")
// over its groups, its zigzag / hybrid piece of the global batches, and the case's ZeRO stage.
// Returns what train-worker.ts returns, so the same one-worker reference checks apply.
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { createModel } from '../../src/nn/create-model.js';
import { createUspAttention } from '../../src/parallel/usp/usp-attention.js';
import { paramPadding } from '../../src/parallel/zero/create.js';
import { checkConfig, ringSizeOf, type UlyssesConfig } from '../../src/train/config.js';
import { UspBatchSource } from '../../src/train/data/usp-source.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { CollectiveSync } from '../../src/train/step-sync.js';
import { Trainer } from '../../src/train/trainer.js';
import { caseBatches, caseConfig, ListSource, type ParallelCase } from './fixtures.js';
import type { TrainRankResult } from './train-worker.js';

export interface RingTrainCase extends ParallelCase {
  readonly mode: 'ring' | 'hybrid';
  /** sequence_parallel.ring_size (hybrid); "auto" resolves as the config does. */
  readonly ringSize: number | 'auto';
}

/** The case's config with its sp, dp and mode, checked like a run's config. */
export function ringCaseConfig(k: RingTrainCase): UlyssesConfig {
  const one = caseConfig(k, 1, 1, k.B);
  const c: UlyssesConfig = {
    ...one, sequence_parallel_size: k.sp, data_parallel_size: k.dp,
    sequence_parallel: { mode: k.mode, ring_size: k.ringSize },
    zero_optimization: { stage: k.zeroStage ?? 0 },
  };
  checkConfig(c);
  return c;
}

export function main(comm: Communicator, k: RingTrainCase): TrainRankResult {
  const c = ringCaseConfig(k);
  const ring = ringSizeOf(c);
  const groups = rankGroups(makeGrid({ dp: k.dp, sp: k.sp, ring }), comm.rank);
  const kernels = kernelsFor(k.kernels, 1);
  const mc = checkedModelConfig(c);
  const attention = createUspAttention(kernels, comm, groups, k.N, mc.n_heads, mc.n_kv_heads);
  const padParamsTo = paramPadding(c.zero_optimization.stage, k.sp * k.dp);
  const model = createModel(mc, { kernels, seed: c.seed, attention, padParamsTo });
  const data = new UspBatchSource(new ListSource(caseBatches(k)), {
    dpRank: groups.coords.dp, dp: k.dp, spRank: groups.coords.sp, sp: k.sp, ulysses: k.sp / ring, ring,
  });
  const trainer = new Trainer({
    config: c, model, kernels, data, val: null, dataTokens: 0, runDir: null, flopsPerToken: null, peakFlops: null,
    sync: new CollectiveSync(comm, groups.zero),
  });
  const first = trainer.trainStep();
  const leader = comm.rank === 0;
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
