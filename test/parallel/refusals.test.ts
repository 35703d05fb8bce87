// Bad input to sequence-parallel attention and training is refused with messages that say what is
// wrong and what would work; batch sharding keeps global positions and pre-shifted targets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalAttention } from '../../src/attention/local-attention.js';
import { RankFailedError, launchThreads, singleRankCommunicator } from '../../src/dist/threads/launcher.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { sequenceShard } from '../../src/parallel/ulysses/shard-batch.js';
import { buildConfig } from '../../src/train/config.js';
import { shardGlobalBatch } from '../../src/train/data/sharded-source.js';
import { NonFiniteLossError, ConfigError, errorFromRank } from '../../src/train/errors.js';
import type { SpmdTrainArgs } from '../../src/train/spmd-train.js';
import { globalBatches } from './fixtures.js';

test('DistributedAttention refuses a shard of the wrong length and document ids fp32 cannot carry', () => {
  const comm = singleRankCommunicator();
  const attn = new DistributedAttention(new LocalAttention(createReferenceKernels()), comm, comm.world, { seqLen: 8 });
  const shape = { B: 1, T: 6, H: 2, Hkv: 2, D: 2 };
  const buf = (): Float32Array => new Float32Array(6 * 2 * 2);
  assert.throws(() => attn.forward(buf(), buf(), buf(), buf(), shape, { causal: true, docIds: null }),
    /got 6 tokens, but a sequence of 8 split over 1 ranks gives it 8/);
  attn.setSeqLen(6);
  const docIds = Int32Array.of(0, 0, 1, 1, 2 ** 24 + 1, 3);
  assert.throws(() => attn.forward(buf(), buf(), buf(), buf(), shape, { causal: true, docIds }),
    /docIds\[4\] = 16777217: .*must lie in \[-2\^24, 2\^24\]/);
  const out = buf();
  attn.forward(out, buf().fill(0.5), buf().fill(0.25), buf().fill(1), shape, { causal: true, docIds: Int32Array.of(0, 0, 1, 1, 2, 2) });
  assert.ok(out.every((x) => Math.abs(x - 1) < 1e-6), 'one rank: plain attention (all values 1 average to 1)');
});

test('a job whose rank count is not sequence_parallel_size x data_parallel_size is refused by every rank', { timeout: 30_000 }, async () => {
  const config = buildConfig([{ kind: 'set', path: 'sequence_parallel_size', value: 2, source: 'test' }]);
  const args: SpmdTrainArgs = { config, corpus: { kind: 'path', corpus: 'brown' }, resumeDir: null, runDir: '/nonexistent', peakFlops: null, quiet: true };
  await assert.rejects(launchThreads(3, new URL('../../src/train/spmd-train.js', import.meta.url), args), (e: unknown) => {
    assert.ok(e instanceof RankFailedError);
    const first = e.errors[e.rank];
    assert.equal(first?.name, 'ConfigError');
    assert.match(first?.message ?? '', /the job has 3 ranks but sequence_parallel_size \(2\) x data_parallel_size \(1\) = 2; launch 2 ranks/);
    return true;
  });
});

test('a failed rank\'s error comes back as the class it had', () => {
  const c = errorFromRank({ name: 'ConfigError', message: 'bad key' });
  assert.ok(c instanceof ConfigError && c.message === 'bad key');
  const nf = errorFromRank({ name: 'NonFiniteLossError', message: new NonFiniteLossError(7, 'gradient norm', Infinity).message });
  assert.ok(nf instanceof NonFiniteLossError);
  assert.deepEqual([nf.step, nf.what, nf.value], [7, 'gradient norm', Infinity]);
  const other = errorFromRank({ name: 'RangeError', message: 'boom', stack: 'RangeError: boom\n at x' });
  assert.equal(other.name, 'RangeError');
  assert.ok(!(other instanceof ConfigError));
});

test('sharding keeps global positions, pre-shifted targets and document ids of each slice', () => {
  const [full] = globalBatches(1, 4, 11, 256, 3, true);
  assert.ok(full);
  const pieces = [0, 1, 2].map((r) => sequenceShard(full, 3, r));
  assert.deepEqual(pieces.map((p) => p.T), [4, 4, 3]);
  assert.deepEqual(Array.from(pieces[2]?.positions.subarray(0, 3) ?? []), [8, 9, 10]);
  // Row b of piece r is the token range of row b of the full batch, for every field.
  for (const [r, p] of pieces.entries()) {
    const t0 = [0, 4, 8][r] as number;
    for (let b = 0; b < 4; b++) {
      for (const f of ['tokens', 'targets', 'positions', 'docIds'] as const) {
        assert.deepEqual(Array.from((p[f] as Int32Array).subarray(b * p.T, (b + 1) * p.T)),
          Array.from((full[f] as Int32Array).subarray(b * 11 + t0, b * 11 + t0 + p.T)), `${f} of rank ${r} row ${b}`);
      }
    }
  }
  // dp rank 1 of 2 keeps rows 2 and 3.
  const s = shardGlobalBatch(full, { dpRank: 1, dp: 2, spRank: 1, sp: 3 });
  assert.deepEqual([s.B, s.T], [2, 4]);
  assert.deepEqual(Array.from(s.tokens.subarray(0, 4)), Array.from(full.tokens.subarray(2 * 11 + 4, 2 * 11 + 8)));
  assert.throws(() => shardGlobalBatch(full, { dpRank: 0, dp: 3, spRank: 0, sp: 1 }), /4 rows do not split over data_parallel_size 3/);
  assert.throws(() => sequenceShard(full, 12, 11), /rank 11 of 12 gets no token of a sequence of 11/);
});
