// Program every rank runs in memory-toolkit-sp.test.ts: the real trainer with DistributedAttention
// over its sequence-parallel group, as test/parallel/train-worker.ts, with the model's memory
// toolkit (activation checkpointing and tiling) turned on.
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { createModel } from '../../src/nn/create-model.js';
import type { MemoryOptions } from '../../src/nn/memory-options.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { paramPadding } from '../../src/parallel/zero/create.js';
import { ShardedBatchSource } from '../../src/train/data/sharded-source.js';
import { memoryOptionsOf } from '../../src/train/config.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { CollectiveSync } from '../../src/train/step-sync.js';
import { Trainer } from '../../src/train/trainer.js';
import { caseBatches, caseConfig, ListSource, type ParallelCase } from '../parallel/fixtures.js';
import type { TrainRankResult } from '../parallel/train-worker.js';

export interface MemoryCase extends ParallelCase {
  readonly memory: MemoryOptions;
}

export function main(comm: Communicator, k: MemoryCase): TrainRankResult {
  const c = caseConfig(k, k.sp, k.dp, k.B);
  c.activation_checkpointing = {
    enabled: k.memory.checkpoint, mlp_tile_tokens: k.memory.mlpTile, logits_tile_tokens: k.memory.logitsTile,
    bf16_activations: k.memory.bf16Activations,
  };
  const groups = rankGroups(makeGrid({ dp: k.dp, sp: k.sp }), comm.rank);
  const kernels = kernelsFor(k.kernels, 1);
  const attention = new DistributedAttention(new LocalAttention(kernels), comm, groups.sp, { seqLen: k.N });
  const padParamsTo = paramPadding(c.zero_optimization.stage, k.sp * k.dp);
  const model = createModel(checkedModelConfig(c), { kernels, seed: c.seed, attention, padParamsTo, memory: memoryOptionsOf(c) });
  const data = new ShardedBatchSource(new ListSource(caseBatches(k)), {
    dpRank: groups.coords.dp, dp: k.dp, spRank: groups.coords.sp, sp: k.sp,
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
