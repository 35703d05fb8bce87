// All-to-all layouts: sequence-to-head puts exactly the right (batch, token, head) elements on every
// rank, head-to-sequence undoes it (summing kv heads that several ranks hold), with B > 1, uneven
// token and head splits and GQA routing; the bytes recorded equal the block sizes sent to others;
// the plan's splits and refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { makeUlyssesPlan, splitCounts, UlyssesConfigError } from '../../src/parallel/ulysses/plan.js';
import type { LayoutCase, LayoutResult } from './layout-worker.js';

const entry = new URL('./layout-worker.js', import.meta.url);

test('plan: uneven tokens and heads split as evenly as possible, first ranks larger', () => {
  assert.deepEqual(splitCounts(7, 4), [2, 2, 2, 1]);
  assert.deepEqual(splitCounts(13, 3), [5, 4, 4]);
  const p = makeUlyssesPlan(4, 13, 7, 7);
  assert.deepEqual(p.tokenCounts, [4, 3, 3, 3]);
  assert.deepEqual(p.tokenOffsets, [0, 4, 7, 10]);
  assert.deepEqual(p.heads.map((s) => [s.start, s.count]), [[0, 2], [2, 2], [4, 2], [6, 1]]);
});

test('plan: GQA sends each rank exactly the kv heads its query heads read', () => {
  // H=6, Hkv=2 (3 query heads per kv head) on 4 ranks: heads [0,1] [2,3] [4] [5].
  const a = makeUlyssesPlan(4, 16, 6, 2);
  assert.deepEqual(a.kv.map((s) => [s.start, s.count]), [[0, 1], [0, 2], [1, 1], [1, 1]]);
  assert.ok(a.kvMaps.every((k) => k.uniform));
  // Hkv % P == 0: kv heads travel like query heads, one block each.
  const b = makeUlyssesPlan(2, 16, 8, 4);
  assert.deepEqual(b.kv.map((s) => [s.start, s.count]), [[0, 2], [2, 2]]);
  // H=8, Hkv=2 on 3 ranks: rank 1 holds heads 3,4,5 reading kv 0,1,1, which the kernel's grouping cannot express.
  const c = makeUlyssesPlan(3, 16, 8, 2);
  assert.deepEqual(c.kv.map((s) => [s.start, s.count]), [[0, 1], [0, 2], [1, 1]]);
  assert.deepEqual(c.kvMaps.map((k) => k.uniform), [true, false, true]);
  assert.deepEqual(c.kvMaps[1]?.kvOf, [0, 1, 1]);
});

test('plan: sizes Ulysses cannot use are refused with the sizes that work', () => {
  assert.throws(() => makeUlyssesPlan(5, 64, 4, 4), (e: unknown) =>
    e instanceof UlyssesConfigError && /exceeds n_heads = 4/.test(e.message) && /1\.\.4/.test(e.message));
  assert.throws(() => makeUlyssesPlan(4, 3, 8, 8), (e: unknown) =>
    e instanceof UlyssesConfigError && /sequence length 3 is shorter/.test(e.message) && /1\.\.3/.test(e.message));
  assert.throws(() => makeUlyssesPlan(2, 8, 6, 4), /must be a positive integer dividing n_heads/);
});

const cases: Record<number, LayoutCase[]> = {
  2: [{ B: 2, N: 9, H: 3, Hkv: 3, D: 2 }, { B: 1, N: 8, H: 4, Hkv: 2, D: 3 }, { B: 3, N: 8, H: 4, Hkv: 4, D: 2 }],
  3: [{ B: 2, N: 10, H: 8, Hkv: 2, D: 2 }, { B: 2, N: 12, H: 6, Hkv: 6, D: 2 }, { B: 1, N: 7, H: 6, Hkv: 2, D: 2 }],
  4: [{ B: 2, N: 13, H: 7, Hkv: 7, D: 2 }, { B: 2, N: 11, H: 6, Hkv: 2, D: 3 }, { B: 2, N: 12, H: 4, Hkv: 2, D: 2 }],
};

for (const P of [2, 3, 4]) {
  test(`layouts: seq->head->seq round trip is exact and bytes match on P=${P}`, { timeout: 30_000 }, async () => {
    const results = await launchThreads<LayoutResult[]>(P, entry, { cases: cases[P] });
    for (const rank of results) {
      for (const r of rank) {
        assert.equal(r.bad, 0, `${r.label}: wrong elements`);
        assert.deepEqual([r.sent, r.received], [r.expectSent, r.expectReceived], `${r.label}: bytes`);
      }
    }
    // Equal splits use the equal all-to-all, anything uneven the v form.
    const ops = results.flat().map((r) => `${r.label.split(' rank')[0]}: ${r.op}`);
    if (P === 3) assert.ok(ops.some((o) => o.includes('N12 H6 Hkv6') && o.endsWith('allToAll')), ops.join('\n'));
    if (P === 4) assert.ok(ops.some((o) => o.includes('N13') && o.endsWith('allToAllV')), ops.join('\n'));
  });
}
