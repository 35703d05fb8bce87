// DistributedAttention's buffer pool on the threads backend: the all-to-alls that are waited at
// once (q, out, dq, dk, dv) send from pooled allocShared buffers, except the forward output on
// the B = 1 fp32 path, which the local core keeps for backward and is sent as it is. The pool
// stops growing after the first step, nothing stays taken between steps, and every output and
// gradient is bit-identical to the unpooled run. On a communicator without allocShared (as MPI)
// the pool holds ordinary arrays only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { PoolCase, PoolResult } from './payload-pool-worker.js';

const entry = new URL('./payload-pool-worker.js', import.meta.url);
const steps = 3;

/**
 * Whether each all-to-all of one step sends from a shared buffer: forward k, v, q, out; backward
 * dout, dq, dk, dv. The staged k, v and dout (the block computes while they travel) use staging.
 */
function expectedShared(direct: boolean, replayed: boolean): boolean[] {
  const forward = [false, false, true, !direct];
  const backward = [false, true, true, true];
  const layer = replayed ? [...forward, ...backward] : backward;
  return [...forward, ...forward, ...layer, ...layer];
}

function check(results: PoolResult[][], cases: PoolCase[]): void {
  for (const rank of results) {
    assert.equal(rank.length, 2 * cases.length);
    rank.forEach((r, i) => {
      const c = cases[Math.floor(i / 2)] as PoolCase;
      const replayed = i % 2 === 1;
      assert.ok(r.identical, `${r.label}: pooled and unpooled results are bit-identical`);
      assert.equal(r.stats.length, steps);
      const first = r.stats[0];
      for (const s of r.stats) {
        assert.deepEqual(s, first, `${r.label}: the pool does not grow after the first step`);
        assert.equal(s.inUse, 0, `${r.label}: no buffer stays taken between steps`);
      }
      assert.ok((first?.buffers ?? 0) > 0, `${r.label}: the pool holds buffers`);
      if (c.hideShared) {
        assert.equal(first?.shared, 0, `${r.label}: no shared buffers without allocShared`);
        for (const s of r.sharedSends) assert.ok(s.every((x) => !x), `${r.label}: ordinary sends`);
        return;
      }
      assert.ok((first?.shared ?? 0) > 0, `${r.label}: shared send buffers`);
      const want = expectedShared(c.B === 1 && c.wire === 'fp32', replayed);
      for (const s of r.sharedSends) assert.deepEqual(s, want, `${r.label}: which sends are pooled shared buffers`);
    });
  }
}

test('Ulysses all-to-alls send from pooled shared buffers, reused across steps, bit-identical to unpooled (P=2, kv heads copied per query head)', { timeout: 60_000 }, async () => {
  const cases: PoolCase[] = [
    { B: 1, N: 16, H: 4, Hkv: 4, D: 8, wire: 'fp32', hideShared: false },
    { B: 2, N: 12, H: 4, Hkv: 2, D: 8, wire: 'fp32', hideShared: false },
    { B: 1, N: 16, H: 4, Hkv: 4, D: 8, wire: 'bf16', hideShared: false },
    { B: 1, N: 16, H: 4, Hkv: 4, D: 8, wire: 'fp32', hideShared: true },
    // Three query heads per rank over three kv heads: each rank copies kv heads per query head.
    { B: 1, N: 12, H: 6, Hkv: 3, D: 4, wire: 'fp32', hideShared: false },
  ];
  check(await launchThreads<PoolResult[]>(2, entry, { cases, steps }), cases);
});

test('the pool with uneven token and head splits, and grouped kv heads (P=3)', { timeout: 60_000 }, async () => {
  const cases: PoolCase[] = [
    { B: 1, N: 14, H: 5, Hkv: 5, D: 4, wire: 'fp32', hideShared: false },
    { B: 1, N: 13, H: 6, Hkv: 2, D: 4, wire: 'fp32', hideShared: false },
  ];
  check(await launchThreads<PoolResult[]>(3, entry, { cases, steps }), cases);
});
