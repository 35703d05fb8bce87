// Program every rank runs in megatron-agreement.test.ts: one real training step of the engine's
// Megatron-SP (tensor-parallel GPT over the sp group, its own stage-0 model states), returning the
// bytes this rank sent per communication group and the replicated parameter count of its layout.
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { createMegatronSpTraining } from '../../src/parallel/megatron-sp/create.js';
import { ShardedBatchSource } from '../../src/train/data/sharded-source.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { CollectiveSync } from '../../src/train/step-sync.js';
import { Trainer } from '../../src/train/trainer.js';
import { caseBatches, caseConfig, ListSource, type ParallelCase } from '../parallel/fixtures.js';

export interface MegatronBytes {
  readonly rank: number;
  readonly sentByGroup: Record<string, number>;
  /** Parameters every tp rank holds whole (embeddings, norms, row-parallel biases). */
  readonly replicatedNumel: number;
}

export function main(comm: Communicator, cases: readonly ParallelCase[]): MegatronBytes[] {
  return cases.map((k) => {
    const c = caseConfig(k, k.sp, k.dp, k.B);
    const mc = checkedModelConfig(c);
    const groups = rankGroups(makeGrid({ dp: k.dp, sp: k.sp }), comm.rank);
    const kernels = kernelsFor(k.kernels, 1);
    const mega = createMegatronSpTraining(mc, {
      comm, groups, seqLen: k.N, kernels, seed: c.seed, hyper: c.optimizer.params, zeroStage: 0, attention: new LocalAttention(kernels),
    });
    const data = new ShardedBatchSource(new ListSource(caseBatches(k)), {
      dpRank: groups.coords.dp, dp: k.dp, spRank: groups.coords.sp, sp: k.sp,
    });
    const trainer = new Trainer({
      config: c, model: mega.model, kernels, data, val: null, dataTokens: 0, runDir: null, flopsPerToken: null, peakFlops: null,
      sync: new CollectiveSync(comm, groups.zero), modelState: mega.modelState,
    });
    comm.reset();
    trainer.trainStep();
    const s = comm.snapshot();
    return {
      rank: comm.rank,
      sentByGroup: Object.fromEntries(Object.entries(s.byGroup).map(([g, x]) => [g, x.bytesSent])),
      replicatedNumel: mega.model.layout.replicatedNumel,
    };
  });
}
