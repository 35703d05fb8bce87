// Program every rank runs in megatron-memory.test.ts: for each memory option set of the case, a
// TpGpt or TpLlama over a tp group of every rank on this rank's sequence shard of a fixed batch,
// two forward + backward passes accumulated (scales 1 and 0.5 of the whole batch's token count, so
// a fused head's gradients must add, not overwrite); returns the first forward's loss share, the
// local gradients and the bytes each pass of the first step recorded.
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import type { MemoryOptions } from '../../src/nn/memory-options.js';
import { sequenceShard } from '../../src/parallel/ulysses/shard-batch.js';
import { TpGpt } from '../../src/parallel/megatron-sp/tp-gpt.js';
import { TpLlama } from '../../src/parallel/megatron-sp/tp-llama.js';
import { kernelsFor } from '../../src/train/run.js';
import { countTargets } from '../../src/train/trainer.js';
import { globalBatches } from './fixtures.js';
import { tinyConfig, type TpModelCase } from './megatron-cases.js';
import type { TpModelResult } from './megatron-model-worker.js';

export interface TpMemoryCase extends TpModelCase {
  readonly options: readonly MemoryOptions[];
}

export function main(comm: Communicator, k: TpMemoryCase): TpModelResult[] {
  const P = comm.worldSize;
  const groups = rankGroups(makeGrid({ dp: 1, sp: P }), comm.rank);
  const config = tinyConfig(k);
  const batch = globalBatches(1, k.B, k.N, config.vocab_size, 11, k.docs)[0];
  if (!batch) throw new Error('no batch');
  const total = countTargets(batch);
  const shard = sequenceShard(batch, P, groups.sp.index);
  return k.options.map((memory) => {
    const o = { comm, group: groups.sp, seqLen: k.N, kernels: kernelsFor(k.kernels, 1), seed: 3, memory };
    const model = k.arch === 'gpt' ? new TpGpt(config, o) : new TpLlama(config, o);
    model.params.zeroGrads();
    comm.reset();
    const r = model.forward(shard);
    const f = comm.snapshot().total;
    comm.reset();
    model.backward(1 / total);
    const b = comm.snapshot().total;
    model.forward(shard);
    model.backward(0.5 / total);
    return {
      lossSum: r.lossSum, count: r.count, grads: Float32Array.from(model.params.grads),
      fwd: [f.bytesSent, f.bytesReceived], bwd: [b.bytesSent, b.bytesReceived],
      activationBytes: model.activationBytes(), localNumel: model.params.numel,
    };
  });
}
