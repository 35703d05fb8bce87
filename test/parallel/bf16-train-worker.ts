// Program every rank runs in bf16-training.test.ts: the real trainer with DistributedAttention
// over the sequence-parallel group, its all-to-all element type taken from config bf16.enabled
// as spmd-train does. Returns the loss of every step and the all-to-all bytes of step 1.
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { createModel } from '../../src/nn/create-model.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { buildConfig } from '../../src/train/config.js';
import { ShardedBatchSource } from '../../src/train/data/sharded-source.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { CollectiveSync } from '../../src/train/step-sync.js';
import { Trainer } from '../../src/train/trainer.js';
import { caseBatches, caseConfig, ListSource, type ParallelCase } from './fixtures.js';

export interface Bf16TrainResult {
  readonly losses: number[];
  readonly a2aBytes1: number;
}

export function main(comm: Communicator, args: { k: ParallelCase; bf16: boolean }): Bf16TrainResult {
  const { k } = args;
  const base = caseConfig(k, k.sp, k.dp, k.B);
  const c = buildConfig([
    { kind: 'json', value: base, source: 'case' },
    { kind: 'set', path: 'bf16.enabled', value: args.bf16, source: 'test' },
  ]);
  const groups = rankGroups(makeGrid({ dp: k.dp, sp: k.sp }), comm.rank);
  const kernels = kernelsFor(k.kernels, 1);
  const wire = c.bf16.enabled ? 'bf16' : 'fp32';
  const attention = new DistributedAttention(new LocalAttention(kernels), comm, groups.sp, { seqLen: k.N, wire });
  const model = createModel(checkedModelConfig(c), { kernels, seed: c.seed, attention });
  // Two batches replayed: the model can memorise them, so the loss falls and the curves are comparable.
  const data = new ShardedBatchSource(new ListSource(caseBatches({ ...k, steps: 2 })), {
    dpRank: groups.coords.dp, dp: k.dp, spRank: groups.coords.sp, sp: k.sp,
  });
  const trainer = new Trainer({
    config: c, model, kernels, data, val: null, dataTokens: 0, runDir: null, flopsPerToken: null, peakFlops: null,
    sync: new CollectiveSync(comm, groups.zero),
  });
  const first = trainer.trainStep();
  const losses = [first.loss];
  for (let s = 1; s < k.steps; s++) losses.push(trainer.trainStep().loss);
  return { losses, a2aBytes1: first.comm_a2a_bytes_sent ?? -1 };
}
