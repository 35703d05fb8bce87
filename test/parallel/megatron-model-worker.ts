// Program every rank runs in megatron-model.test.ts: TpGpt or TpLlama over a tp group of every rank, on this
// rank's sequence shard of a fixed batch, one forward and one backward with the whole batch's
// token count as scale; returns its loss share, local gradients and the bytes each pass recorded.
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { sequenceShard } from '../../src/parallel/ulysses/shard-batch.js';
import { TpGpt } from '../../src/parallel/megatron-sp/tp-gpt.js';
import { TpLlama } from '../../src/parallel/megatron-sp/tp-llama.js';
import { kernelsFor } from '../../src/train/run.js';
import { countTargets } from '../../src/train/trainer.js';
import { globalBatches } from './fixtures.js';
import { tinyConfig, type TpModelCase } from './megatron-cases.js';

export interface TpModelResult {
  readonly lossSum: number;
  readonly count: number;
  readonly grads: Float32Array;
  readonly fwd: [number, number];
  readonly bwd: [number, number];
  readonly activationBytes: number;
  readonly localNumel: number;
}

export function main(comm: Communicator, k: TpModelCase): TpModelResult {
  const P = comm.worldSize;
  const groups = rankGroups(makeGrid({ dp: 1, sp: P }), comm.rank);
  const config = tinyConfig(k);
  const o = { comm, group: groups.sp, seqLen: k.N, kernels: kernelsFor(k.kernels, 1), seed: 3 };
  const model = k.arch === 'gpt' ? new TpGpt(config, o) : new TpLlama(config, o);
  const batch = globalBatches(1, k.B, k.N, config.vocab_size, 11, k.docs)[0];
  if (!batch) throw new Error('no batch');
  const total = countTargets(batch);
  comm.reset();
  const r = model.forward(sequenceShard(batch, P, groups.sp.index));
  const f = comm.snapshot().total;
  comm.reset();
  model.params.zeroGrads();
  model.backward(1 / total);
  const b = comm.snapshot().total;
  return {
    lossSum: r.lossSum, count: r.count, grads: Float32Array.from(model.params.grads),
    fwd: [f.bytesSent, f.bytesReceived], bwd: [b.bytesSent, b.bytesReceived],
    activationBytes: model.activationBytes(), localNumel: model.params.numel,
  };
}
