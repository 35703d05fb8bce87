// Gathers, all-to-alls, point-to-point, communicator splits, request polling and argument errors.
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { packed, perRank, total, type RankContext } from './harness.js';

export function checkAllGatherv({ mpi, rank, size, ok }: RankContext): void {
  const counts = perRank(size, (j) => (j === 1 ? 0 : j + 2)); // uneven, rank 1 contributes nothing
  const expected: number[] = [];
  for (let j = 0; j < size; j++) for (let i = 0; i < (counts[j] as number); i++) expected.push(100 * j + i);
  const send = Float32Array.from({ length: counts[rank] as number }, (_, i) => 100 * rank + i);
  const recv = new Float32Array(total(counts));
  mpi.mpiAllGatherv(send, recv, counts, null);
  assert.deepEqual(Array.from(recv), expected);
  // Explicit displacements with a one-element gap before each block; gaps stay untouched.
  const displs = perRank(size, (j) => (packed(counts)[j] as number) + j + 1);
  const gapped = new Float32Array(total(counts) + size + 1).fill(-1);
  mpi.mpiWait(mpi.mpiIallGatherv(send, gapped, counts, displs));
  const expectGapped: number[] = [];
  for (let j = 0; j < size; j++) {
    expectGapped.push(-1);
    for (let i = 0; i < (counts[j] as number); i++) expectGapped.push(100 * j + i);
  }
  expectGapped.push(-1);
  assert.deepEqual(Array.from(gapped), expectGapped);
  // In place: this rank's block of recv is already filled.
  const own = new Float32Array(total(counts));
  const mine = own.subarray(packed(counts)[rank] as number, (packed(counts)[rank] as number) + (counts[rank] as number));
  mine.set(send);
  mpi.mpiAllGatherv(mine, own, counts, null);
  assert.deepEqual(Array.from(own), expected);
  ok();
}

export function checkAllToAllv({ mpi, rank, size, ok }: RankContext): void {
  const n = (src: number, dst: number): number => (src + 2 * dst) % 3; // elements src sends to dst
  const value = (src: number, dst: number, k: number): number => 1000 * src + 10 * dst + k;
  const sendCounts = perRank(size, (j) => n(rank, j));
  const recvCounts = perRank(size, (j) => n(j, rank));
  const send = new Float32Array(total(sendCounts));
  for (let j = 0, o = 0; j < size; j++) for (let k = 0; k < n(rank, j); k++) send[o++] = value(rank, j, k);
  const expected: number[] = [];
  for (let j = 0; j < size; j++) for (let k = 0; k < n(j, rank); k++) expected.push(value(j, rank, k));
  const recv = new Float32Array(total(recvCounts));
  mpi.mpiAllToAllv(send, sendCounts, null, recv, recvCounts, null);
  assert.deepEqual(Array.from(recv), expected);
  // Nonblocking on bf16 bit patterns with explicit (reversed) receive displacements.
  const bits = Uint16Array.from(send, (v) => v);
  const recvDispls = new Int32Array(size);
  for (let j = size - 1, o = 0; j >= 0; j--) (recvDispls[j] = o), (o += recvCounts[j] as number);
  const rbits = new Uint16Array(total(recvCounts));
  mpi.mpiWait(mpi.mpiIallToAllv(bits, sendCounts, packed(sendCounts), rbits, recvCounts, recvDispls));
  for (let j = 0; j < size; j++) {
    for (let k = 0; k < n(j, rank); k++) assert.equal(rbits[(recvDispls[j] as number) + k], value(j, rank, k));
  }
  ok();
}

export function checkSendRecv({ mpi, rank, size, ok }: RankContext): void {
  const next = (rank + 1) % size;
  const prev = (rank + size - 1) % size;
  const send = Float32Array.from({ length: 4 }, (_, i) => rank * 100 + i);
  const recv = new Float32Array(4);
  assert.equal(mpi.mpiSendRecv(send, next, recv, prev, 7), 4);
  assert.deepEqual(Array.from(recv), [0, 1, 2, 3].map((i) => prev * 100 + i));
  // A chain: the first rank only sends, the last only receives.
  const r2 = new Float32Array(4).fill(-1);
  const hasNext = rank + 1 < size;
  const hasPrev = rank > 0;
  const req = mpi.mpiIsendRecv(
    hasNext ? send : null, hasNext ? rank + 1 : null, hasPrev ? r2 : null, hasPrev ? rank - 1 : null, 8,
  );
  mpi.mpiWait(req);
  assert.deepEqual(Array.from(r2), hasPrev ? [0, 1, 2, 3].map((i) => (rank - 1) * 100 + i) : [-1, -1, -1, -1]);
  ok();
}

export function checkCommSplit({ mpi, rank, size, ok }: RankContext): void {
  // Parity groups ordered by descending world rank.
  const comm = mpi.mpiCommSplit(rank % 2, -rank);
  const members = Array.from({ length: size }, (_, r) => r).filter((r) => r % 2 === rank % 2).reverse();
  assert.deepEqual(mpi.mpiCommInfo(comm), { rank: members.indexOf(rank), size: members.length });
  const buf = Float32Array.from([rank, 1]);
  mpi.mpiAllReduce(buf, buf, 'sum', comm);
  assert.deepEqual(Array.from(buf), [members.reduce((a, b) => a + b, 0), members.length]);
  const root = Float32Array.from([rank]);
  mpi.mpiBroadcast(root, 0, comm);
  assert.equal(root[0], members[0]);
  mpi.mpiBarrier(comm);
  mpi.mpiCommFree(comm);
  assert.throws(() => mpi.mpiBarrier(comm), /no communicator with handle/);
  // Negative color: rank 0 joins no group.
  const rest = mpi.mpiCommSplit(rank === 0 ? -1 : 0, rank);
  if (rank === 0) assert.equal(rest, -1);
  else assert.deepEqual(mpi.mpiCommInfo(rest), { rank: rank - 1, size: size - 1 });
  ok();
}

export function checkRequests({ mpi, rank, size, ok }: RankContext): void {
  const buf = Float32Array.from([rank]);
  const req = mpi.mpiIallReduce(buf, buf, 'sum');
  while (!mpi.mpiTest(req));
  assert.equal(buf[0], (size * (size - 1)) / 2);
  assert.throws(() => mpi.mpiWait(req), /mpiWait: no pending request/);
  const pending = mpi.mpiIbarrier();
  assert.throws(() => mpi.mpiFinalize(), /still pending/);
  mpi.mpiWait(pending);
  ok();
}

/** Every check here fails before MPI is called, so no rank waits on another. */
export function checkArgumentErrors({ mpi, size, ok }: RankContext): void {
  const f = new Float32Array(4);
  const counts = perRank(size, () => 1);
  assert.throws(() => mpi.mpiAllGatherv(f, f, new Int32Array(size + 1), null), /counts has \d+ entries, the communicator has/);
  assert.throws(() => mpi.mpiAllGatherv(f.subarray(0, 1), new Float32Array(size - 1), counts, null), /recv block \d+ ends at/);
  assert.throws(() => mpi.mpiAllGatherv(f.subarray(0, 2), new Float32Array(size), counts, null), /send has 2 elements but counts/);
  const five = perRank(size, () => 5);
  assert.throws(() => mpi.mpiAllToAllv(f, five, null, new Float32Array(4), counts, null), /mpiAllToAllv: send block/);
  assert.throws(() => mpi.mpiAllToAllv(f, perRank(size, () => -1), null, f, counts, null), /sendCounts\[0\] is negative/);
  assert.throws(() => mpi.mpiAllReduce(f, new Float32Array(3), 'sum'), /send has 4 elements but recv has 3/);
  // @ts-expect-error: mixed element types are refused at run time too
  assert.throws(() => mpi.mpiAllReduce(f, new Uint16Array(4), 'sum'), /same type/);
  // @ts-expect-error: an op the binding does not know
  assert.throws(() => mpi.mpiAllReduce(f, f, 'prod'), /op must be 'sum' or 'max'/);
  // @ts-expect-error: bytes do not reduce
  assert.throws(() => mpi.mpiAllReduce(new Uint8Array(2), new Uint8Array(2), 'sum'), /reductions take/);
  assert.throws(() => mpi.mpiReduceScatter(f, new Float32Array(3), 'sum', null), /expected ranks x recv.length/);
  assert.throws(() => mpi.mpiBarrier(99), /no communicator with handle 99/);
  assert.throws(() => mpi.mpiBroadcast(f, size), /root is \d+, expected an integer in \[0, /);
  assert.throws(() => mpi.mpiSendRecv(f, 0, f, 0, 40000), /tag is 40000/);
  assert.throws(() => mpi.mpiSendRecv(f, null, f, 0, 1), /both be given or both be null/);
  assert.throws(() => mpi.mpiCommFree(0), /cannot be freed/);
  assert.throws(() => mpi.mpiWait(12345678), /no pending request 12345678/);
  ok();
}

/** The typed arrays of a nonblocking call survive a full GC until mpiWait, and are released after. */
export async function checkKeepAlive({ mpi, rank, size, ok }: RankContext): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const n = 1000;
  let send: Float32Array | undefined = new Float32Array(n).fill(rank);
  let recv: Float32Array | undefined = new Float32Array(size * n);
  const weakSend = new WeakRef(send);
  const weakRecv = new WeakRef(recv);
  const req = mpi.mpiIallGatherv(send, recv, perRank(size, () => n), null);
  send = recv = undefined;
  await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets are pinned until the turn ends
  gc();
  assert.ok(weakSend.deref() && weakRecv.deref(), 'a buffer of a pending request was garbage collected');
  mpi.mpiWait(req);
  const firsts = (weakRecv.deref() as Float32Array).filter((_, i) => i % n === 0);
  assert.deepEqual(Array.from(firsts), Array.from({ length: size }, (_, j) => j));
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  assert.equal(weakRecv.deref(), undefined, 'mpiWait did not release the buffers of its request');
  ok();
}
