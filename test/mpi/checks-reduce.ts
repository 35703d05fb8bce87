// Reductions and broadcast on integer-valued data, so every expected value is exact.
import assert from 'node:assert/strict';
import { bf16, fromBf16, perRank, type RankContext } from './harness.js';

/** Sum over ranks r = 0..size-1 of f(r). */
function sumRanks(size: number, f: (r: number) => number): number {
  let s = 0;
  for (let r = 0; r < size; r++) s += f(r);
  return s;
}

export function checkBarrierBroadcast({ mpi, rank, size, ok }: RankContext): void {
  mpi.mpiBarrier();
  mpi.mpiWait(mpi.mpiIbarrier(0));
  ok();
  const root = size - 1;
  const buf = Float32Array.from({ length: 7 }, (_, i) => (rank === root ? 3 * i - 5 : 0));
  mpi.mpiBroadcast(buf, root);
  assert.deepEqual(Array.from(buf), Array.from({ length: 7 }, (_, i) => 3 * i - 5));
  const bits = Uint16Array.from({ length: 5 }, (_, i) => (rank === 0 ? 1000 + i : 0));
  mpi.mpiWait(mpi.mpiIbroadcast(bits, 0));
  assert.deepEqual(Array.from(bits), [1000, 1001, 1002, 1003, 1004]);
  ok();
}

export function checkAllReduce({ mpi, rank, size, ok }: RankContext): void {
  const n = 11;
  const send = Float32Array.from({ length: n }, (_, i) => rank * 10 + i);
  const recv = new Float32Array(n);
  mpi.mpiAllReduce(send, recv, 'sum');
  assert.deepEqual(Array.from(recv), Array.from({ length: n }, (_, i) => sumRanks(size, (r) => r * 10 + i)));
  mpi.mpiAllReduce(send, recv, 'max');
  assert.deepEqual(Array.from(recv), Array.from({ length: n }, (_, i) => (size - 1) * 10 + i));
  const inplace = Float32Array.from({ length: n }, (_, i) => (rank % 2 ? -i : i * rank));
  mpi.mpiAllReduce(inplace, inplace, 'sum');
  assert.deepEqual(Array.from(inplace), Array.from({ length: n }, (_, i) => sumRanks(size, (r) => (r % 2 ? -i : i * r))));
  const ints = Int32Array.from([rank, -rank, 7]);
  mpi.mpiAllReduce(ints, ints, 'max');
  assert.deepEqual(Array.from(ints), [size - 1, 0, 7]);
  const doubles = Float64Array.from([rank + 0.5, 2 ** 40]);
  const dsum = new Float64Array(2);
  mpi.mpiWait(mpi.mpiIallReduce(doubles, dsum, 'sum'));
  assert.deepEqual(Array.from(dsum), [sumRanks(size, (r) => r + 0.5), size * 2 ** 40]);
  ok();
}

export function checkBf16({ mpi, rank, size, ok }: RankContext): void {
  // Small integers and halves are exact in bf16, so the sums are exact too.
  const vals = (r: number): number[] => [r + 1, 5 - 2 * r, 0.5 * r, 100];
  const buf = Uint16Array.from(vals(rank).map(bf16));
  mpi.mpiAllReduce(buf, buf, 'sum');
  const expect = [0, 1, 2, 3].map((i) => sumRanks(size, (r) => vals(r)[i] as number));
  assert.deepEqual(Array.from(buf, fromBf16), expect);
  // Rounding to nearest even: 256 + 1 = 257 ties to 256; 256 + 3 = 259 ties to 260 (bf16 spacing 2).
  const tie = Uint16Array.from((rank === 0 ? [256, 256, 1] : rank === 1 ? [1, 3, 1] : [0, 0, 0]).map(bf16));
  const out = new Uint16Array(3);
  mpi.mpiWait(mpi.mpiIallReduce(tie, out, 'sum'));
  assert.deepEqual(Array.from(out, fromBf16), size === 1 ? [256, 256, 1] : [256, 260, 2]);
  const mx = Uint16Array.from([bf16(-rank - 1), bf16(rank * 2)]);
  mpi.mpiAllReduce(mx, mx, 'max');
  assert.deepEqual(Array.from(mx, fromBf16), [-1, 2 * (size - 1)]);
  ok();
}

export function checkReduceScatter({ mpi, rank, size, ok }: RankContext): void {
  const B = 3;
  const send = Float32Array.from({ length: size * B }, (_, i) => rank + i);
  const recv = new Float32Array(B);
  mpi.mpiReduceScatter(send, recv, 'sum', null);
  assert.deepEqual(Array.from(recv), Array.from({ length: B }, (_, k) => sumRanks(size, (r) => r + rank * B + k)));
  // Uneven blocks, one of them empty when size > 1.
  const counts = perRank(size, (j) => (j === 1 ? 0 : j + 2));
  let off = 0;
  for (let j = 0; j < rank; j++) off += counts[j] as number;
  const total = counts.reduce((a, b) => a + b, 0);
  const send2 = Float32Array.from({ length: total }, (_, i) => (i % 5) * (rank + 1));
  const recv2 = new Float32Array(counts[rank] as number);
  mpi.mpiWait(mpi.mpiIreduceScatter(send2, recv2, 'sum', counts));
  const expect2 = Array.from(recv2, (_, k) => sumRanks(size, (r) => ((off + k) % 5) * (r + 1)));
  assert.deepEqual(Array.from(recv2), expect2);
  mpi.mpiReduceScatter(send2, recv2, 'max', counts);
  assert.deepEqual(Array.from(recv2), Array.from(recv2, (_, k) => ((off + k) % 5) * size));
  const bsend = Uint16Array.from({ length: size * B }, (_, i) => bf16(i - rank));
  const brecv = new Uint16Array(B);
  mpi.mpiReduceScatter(bsend, brecv, 'sum', null);
  assert.deepEqual(Array.from(brecv, fromBf16), Array.from({ length: B }, (_, k) => sumRanks(size, (r) => rank * B + k - r)));
  ok();
}
