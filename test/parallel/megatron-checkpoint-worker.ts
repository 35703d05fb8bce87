// Program every rank runs in megatron-checkpoint.test.ts: Megatron-SP training for 4 steps in one
// go, and again as 2 steps, a checkpoint (the whole model, gathered to rank 0), and 2 more steps of
// a fresh model and engine resumed from it. Returns both runs' losses and final whole parameters,
// and what rank 0's one-worker model reads from the checkpoint's model.safetensors.
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { createModel } from '../../src/nn/create-model.js';
import { createMegatronSpTraining } from '../../src/parallel/megatron-sp/create.js';
import { loadCheckpoint, restoreModel } from '../../src/train/checkpoint.js';
import { ShardedBatchSource } from '../../src/train/data/sharded-source.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { CollectiveSync } from '../../src/train/step-sync.js';
import { Trainer } from '../../src/train/trainer.js';
import { caseBatches, caseConfig, ListSource, type ParallelCase } from './fixtures.js';

export interface CheckpointCase extends ParallelCase {
  /** The run folder rank 0 writes its checkpoint into. */
  readonly dir: string;
}

export interface CheckpointRankResult {
  readonly straight: number[];
  readonly resumed: number[];
  readonly straightParams: Float32Array;
  readonly resumedParams: Float32Array;
  /** The checkpoint's parameters as a one-worker model loads them (rank 0 only). */
  readonly saved: Float32Array;
  /** The whole parameters after step 2, gathered (rank 0 only). */
  readonly atSave: Float32Array;
}

export function main(comm: Communicator, k: CheckpointCase): CheckpointRankResult {
  const c = caseConfig(k, k.sp, k.dp, k.B);
  const mc = checkedModelConfig(c);
  const groups = rankGroups(makeGrid({ dp: k.dp, sp: k.sp }), comm.rank);
  const kernels = kernelsFor(k.kernels, 1);
  const leader = comm.rank === 0;
  const trainer = (resumeFrom: string | null): Trainer => {
    const tp = createMegatronSpTraining(mc, { comm, groups, seqLen: k.N, kernels, seed: c.seed, hyper: c.optimizer.params, zeroStage: k.zeroStage ?? 0 });
    const data = new ShardedBatchSource(new ListSource(caseBatches(k)), { dpRank: groups.coords.dp, dp: k.dp, spRank: groups.coords.sp, sp: k.sp });
    return new Trainer({
      config: c, model: tp.model, kernels, data, val: null, dataTokens: 0, runDir: leader ? k.dir : null, flopsPerToken: null,
      peakFlops: null, sync: new CollectiveSync(comm, groups.zero), modelState: tp.modelState, checkpointing: true,
      ...(resumeFrom ? { resume: loadCheckpoint(resumeFrom) } : {}),
    });
  };
  const a = trainer(null);
  const straight = [1, 2, 3, 4].map(() => a.trainStep().loss);
  const straightParams = a.engine.fullVector('params', leader) ?? new Float32Array(0);
  const b = trainer(null);
  const resumed = [b.trainStep().loss, b.trainStep().loss];
  const atSave = b.engine.fullVector('params', leader) ?? new Float32Array(0);
  b.saveCheckpoint();
  comm.barrier(comm.world);
  let saved = new Float32Array(0);
  if (leader) {
    const one = createModel(mc, { kernels, seed: 99 });
    restoreModel(loadCheckpoint(`${k.dir}/checkpoint`), one);
    saved = Float32Array.from(one.params.data);
  }
  const r = trainer(`${k.dir}/checkpoint`);
  resumed.push(r.trainStep().loss, r.trainStep().loss);
  const resumedParams = r.engine.fullVector('params', leader) ?? new Float32Array(0);
  return {
    straight, resumed, straightParams: Float32Array.from(straightParams), resumedParams: Float32Array.from(resumedParams),
    saved, atSave: Float32Array.from(atSave),
  };
}
