// Every collective of the threads backend with P in {1, 2, 3, 4, 8}: exact results (checked inside
// each rank by collectives-worker.ts), blocking and async forms, fp32 and bf16, uneven sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { CollectivesArgs } from './collectives-worker.js';

const entry = new URL('./collectives-worker.js', import.meta.url);

for (const P of [1, 2, 3, 4, 8]) {
  test(`threads: every collective is exact on P=${P}`, { timeout: 60_000 }, async () => {
    const args: CollectivesArgs = { scenario: 'all' };
    const calls = await launchThreads<number>(P, entry, args, { initialStagingBytes: 4096 });
    assert.equal(calls.length, P);
    // Every rank made the same number of calls (SPMD).
    assert.ok(calls.every((c) => c === calls[0] && c > 30), `calls per rank: ${calls.join(', ')}`);
  });
}

for (const P of [2, 3, 8]) {
  test(`threads: async collectives overlap and complete out of order on P=${P}`, { timeout: 60_000 }, async () => {
    const args: CollectivesArgs = { scenario: 'async' };
    const calls = await launchThreads<number>(P, entry, args);
    assert.deepEqual(calls, new Array<number>(P).fill(17));
  });
}

test('threads: a random schedule of blocking and async calls on three groups stays exact', { timeout: 60_000 }, async () => {
  const entry = new URL('./schedule-worker.js', import.meta.url);
  for (const seed of [1, 2]) {
    const calls = await launchThreads<number>(4, entry, { seed, steps: 80 }, { initialStagingBytes: 1024 });
    assert.deepEqual(calls, [80, 80, 80, 80], `seed ${seed}`);
  }
});
