// Communication accounting: bytes each rank records per collective equal the volume formulas
// (written out here independently of src/dist/accounting.ts), per op, per group and in total.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommStats } from '../../src/dist/accounting.js';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { AccountingResult } from './accounting-worker.js';

const entry = new URL('./accounting-worker.js', import.meta.url);

/** [sent, received] bytes rank `me` of P must record for each call accounting-worker.ts makes. */
function expected(P: number, me: number): Record<string, [number, number]> {
  const others = (f: (j: number) => number): number => {
    let s = 0;
    for (let j = 0; j < P; j++) if (j !== me) s += f(j);
    return s;
  };
  const n = 2 * P + 1; // allReduce fp32: evenCounts gives member 0 three elements, the rest two
  const c = me === 0 ? 3 : 2;
  return {
    allToAll: [((P - 1) / P) * 4 * P * 4, ((P - 1) / P) * 4 * P * 4],
    allToAllV: [others((j) => ((me + 2 * j) % 4) * 4), others((j) => ((j + 2 * me) % 4) * 4)],
    allGather: [(P - 1) * 5 * 2, (P - 1) * 5 * 2],
    allGatherV: [(P - 1) * (me + 1) * 4, others((j) => (j + 1) * 4)],
    reduceScatter: [(P - 1) * 3 * 4, (P - 1) * 3 * 4],
    allReduce: [((n - c) + (P - 1) * c) * 4, ((n - c) + (P - 1) * c) * 4],
    allReduceBf16: [((2 * (P - 1)) / P) * 4 * P * 2, ((2 * (P - 1)) / P) * 4 * P * 2],
    broadcast: me === 0 ? [(P - 1) * 7 * 4, 0] : [0, 7 * 4],
    sendRecv: P > 1 ? [6 * 4, 6 * 4] : [0, 0],
    barrier: [0, 0],
    allToAllAsync: [(P - 1) * 2 * 2, (P - 1) * 2 * 2],
  };
}

for (const P of [1, 2, 3, 4]) {
  test(`accounting: bytes per collective equal the formulas on P=${P}`, { timeout: 30_000 }, async () => {
    const results = await launchThreads<AccountingResult>(P, entry);
    results.forEach((res, me) => {
      const want = expected(P, me);
      let sent = 0;
      let received = 0;
      for (const r of res.records) {
        const w = want[r.label];
        assert.ok(w, `no expectation for ${r.label}`);
        assert.deepEqual([r.sent, r.received], w, `rank ${me} ${r.label}: [sent, received]`);
        assert.deepEqual([r.groupSent, r.groupReceived], w, `rank ${me} ${r.label}: bytes under group 'world'`);
        assert.equal(r.calls, 1, `rank ${me} ${r.label}: calls`);
        sent += w[0];
        received += w[1];
      }
      assert.equal(res.records.length, Object.keys(want).length);
      assert.deepEqual([res.totalSent, res.totalReceived, res.totalCalls], [sent, received, res.records.length]);
    });
  });
}

test('accounting: CommStats snapshots are copies and reset clears them', () => {
  const stats = new CommStats();
  stats.record('allReduce', 'dp', { sent: 8, received: 8 }, 1.5);
  stats.record('allReduce', 'dp', { sent: 4, received: 2 }, 0.5);
  stats.record('allToAll', 'sp', { sent: 100, received: 60 }, 2);
  const s = stats.snapshot();
  assert.deepEqual(s.total, { calls: 3, bytesSent: 112, bytesReceived: 70, timeMs: 4 });
  assert.deepEqual(s.byOp.allReduce, { calls: 2, bytesSent: 12, bytesReceived: 10, timeMs: 2 });
  assert.deepEqual(s.byGroup['sp'], { calls: 1, bytesSent: 100, bytesReceived: 60, timeMs: 2 });
  stats.reset();
  assert.deepEqual(stats.snapshot(), { total: { calls: 0, bytesSent: 0, bytesReceived: 0, timeMs: 0 }, byOp: {}, byGroup: {} });
  assert.equal(s.total.calls, 3, 'an earlier snapshot is unaffected by reset');
});
