// Program every rank runs in engine-agreement.test.ts: one real training step of the trainer with
// Ulysses over its sp group and the case's ZeRO stage over dp × sp, returning the bytes this rank
// sent per communication group in that step (with the model's checkpointing and tiling as the case asks), the model-state bytes its engine holds and the
// model's activation bytes.
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { CommCounter } from '../../src/dist/accounting.js';
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
import { caseBatches, caseConfig, ListSource, type ParallelCase } from '../parallel/fixtures.js';

/** A case, and the model's memory toolkit (checkpointing, MLP and logits tile rows; default none). */
export interface StepCase extends ParallelCase {
  readonly memory?: { readonly checkpoint: boolean; readonly tile: number };
}

export interface StepBytes {
  readonly rank: number;
  /** Bytes sent in the step, by group name. */
  readonly sentByGroup: Record<string, number>;
  readonly callsByGroup: Record<string, number>;
  readonly memory: ModelStateMemory;
  readonly activationBytes: number;
}

export function main(comm: Communicator, cases: readonly StepCase[]): StepBytes[] {
  return cases.map((k) => {
    const c = caseConfig(k, k.sp, k.dp, k.B);
    const groups = rankGroups(makeGrid({ dp: k.dp, sp: k.sp }), comm.rank);
    const kernels = kernelsFor(k.kernels, 1);
    const attention = new DistributedAttention(new LocalAttention(kernels), comm, groups.sp, { seqLen: k.N });
    const padParamsTo = paramPadding(c.zero_optimization.stage, k.sp * k.dp);
    const m = k.memory ?? { checkpoint: false, tile: 0 };
    const memory = { checkpoint: m.checkpoint, mlpTile: m.tile, logitsTile: m.tile, bf16Activations: false };
    const model = createModel(checkedModelConfig(c), { kernels, seed: c.seed, attention, padParamsTo, memory });
    const data = new ShardedBatchSource(new ListSource(caseBatches(k)), {
      dpRank: groups.coords.dp, dp: k.dp, spRank: groups.coords.sp, sp: k.sp,
    });
    const trainer = new Trainer({
      config: c, model, kernels, data, val: null, dataTokens: 0, runDir: null, flopsPerToken: null, peakFlops: null,
      sync: new CollectiveSync(comm, groups.zero),
    });
    comm.reset();
    trainer.trainStep();
    const s = comm.snapshot();
    const pick = (f: (x: CommCounter) => number): Record<string, number> =>
      Object.fromEntries(Object.entries(s.byGroup).map(([g, x]) => [g, f(x)]));
    return {
      rank: comm.rank, sentByGroup: pick((x) => x.bytesSent), callsByGroup: pick((x) => x.calls),
      memory: trainer.engine.memory(), activationBytes: model.activationBytes(),
    };
  });
}
