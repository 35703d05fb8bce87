// Argument checking (shared by all backends through plan.ts) and the single-rank communicator that
// runs in the calling thread. A refused call leaves the communicator usable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeGroup } from '../../src/dist/group.js';
import { singleRankCommunicator } from '../../src/dist/threads/launcher.js';

test('args: a single-rank world does every collective as a local copy', () => {
  const comm = singleRankCommunicator();
  try {
    const g = comm.world;
    assert.deepEqual([comm.rank, comm.worldSize, g.ranks, g.index], [0, 1, [0], 0]);
    const recv = new Float32Array(3);
    comm.allToAll(Float32Array.from([1, 2, 3]), recv, g);
    assert.deepEqual(Array.from(recv), [1, 2, 3]);
    const buf = Float32Array.from([4, 5]);
    comm.allReduce(buf, g);
    assert.deepEqual(Array.from(buf), [4, 5]);
    const bits = new Uint16Array(2);
    comm.sendRecv(Uint16Array.from([0xffff, 0x7fc1]), 0, bits, 0, g);
    assert.deepEqual(Array.from(bits), [0xffff, 0x7fc1]);
    comm.barrier(g);
    // Two groups with the same members share one call sequence but are accounted by their own names.
    comm.allReduce(buf, makeGroup('sp', [0], 0));
    comm.allReduce(buf, makeGroup('ulysses', [0], 0));
    const s = comm.snapshot();
    assert.equal(s.total.calls, 6);
    assert.deepEqual(Object.keys(s.byGroup).sort(), ['sp', 'ulysses', 'world']);
    assert.equal(s.byOp.allReduce?.calls, 3);
    assert.deepEqual([s.total.bytesSent, s.total.bytesReceived], [0, 0], 'a single rank moves nothing');
  } finally {
    comm.close();
  }
});

test('args: bad calls are refused with messages naming the collective and argument', () => {
  const comm = singleRankCommunicator();
  try {
    const g = comm.world;
    const f = (n: number): Float32Array => new Float32Array(n);
    assert.throws(() => comm.allToAll(f(4), f(5), g), /allToAll: send has 4 elements but recv has 5/);
    assert.throws(() => comm.allToAll(f(2), new Uint16Array(2) as unknown as Float32Array, g), /allToAll: send is fp32 but recv is bf16/);
    assert.throws(() => comm.allToAllV(f(3), [2], f(3), [3], g), /allToAllV: send has 3 elements, expected 2/);
    assert.throws(() => comm.allToAllV(f(3), [3, 0], f(3), [3], g), /sendCounts has 2 entries, the group has 1 members/);
    assert.throws(() => comm.allToAllV(f(3), [-3], f(3), [3], g), /sendCounts contains -3/);
    assert.throws(() => comm.allGather(f(2), f(3), g), /allGather: recv has 3 elements, expected 2/);
    assert.throws(() => comm.reduceScatter(f(2), f(2), g, 'min' as 'sum'), /reduce op 'min' is not 'sum' or 'max'/);
    assert.throws(() => comm.broadcast(f(2), 1, g), /broadcast: root 1 is not a member index of group world/);
    assert.throws(() => comm.sendRecv(f(2), null, null, null, g), /send and dst must both be given or both be null/);
    assert.throws(() => comm.allReduce(new Float64Array(2) as unknown as Float32Array, g), /Float32Array \(fp32\) or a Uint16Array/);
    assert.throws(() => comm.allReduce(f(2), makeGroup('pair', [0, 5], 0)), /allReduce: group pair \[0,5\] contains rank 5, outside the world/);
    assert.throws(() => comm.allReduce(f(2), { ...g, index: 0, ranks: [1] }), /is not rank 0/);
    // After all the refusals the communicator still works.
    const buf = Float32Array.from([1]);
    comm.allReduce(buf, g, 'max');
    assert.deepEqual(Array.from(buf), [1]);
  } finally {
    comm.close();
  }
});

test('args: a message beyond maxStagingBytes is refused and the communicator stays usable', () => {
  const comm = singleRankCommunicator({ maxStagingBytes: 1024 });
  try {
    assert.throws(
      () => comm.allGather(new Float32Array(1000), new Float32Array(1000), comm.world),
      /a message of 4000 bytes exceeds the communicator's maxStagingBytes \(1024\)/,
    );
    const small = Float32Array.from([3, 4]);
    comm.allReduce(small, comm.world);
    assert.deepEqual(Array.from(small), [3, 4]);
  } finally {
    comm.close();
  }
});

test('args: groups are checked when built', () => {
  assert.throws(() => makeGroup('x', [0, 1, 0], 0), /rank 0 appears twice/);
  assert.throws(() => makeGroup('x', [1, 2], 0), /does not contain rank 0/);
  assert.throws(() => makeGroup('x', [], 0), /no ranks/);
  assert.deepEqual(makeGroup('x', [4, 2, 9], 9), { name: 'x', ranks: [4, 2, 9], index: 2, next: 0, prev: 1 });
});
