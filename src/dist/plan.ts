// Turns a collective call into a checked, backend-neutral plan: payload type, per-member counts
// and the bytes accounting will record. Every backend plans through here, so all of them refuse
// the same bad calls with the same messages and report the same volumes.
import { commBytes, type ByteCount } from './accounting.js';
import {
  bytesPerElement, checkCounts, checkIndex, checkLength, checkReduceOp, equalAllToAllCounts, evenCounts, pairDtype,
  payloadDtype, sum, type Dtype,
} from './collective-args.js';
import type { ChunkCounts, CollectiveName, Payload, ReduceOp } from './communicator.js';
import type { Group } from './group.js';

export interface CollectiveCall {
  readonly name: CollectiveName;
  readonly dtype: Dtype;
  readonly send: Payload | null;
  /** Where results land; for allReduce and broadcast the in-place buffer. */
  readonly recv: Payload | null;
  /** allToAll(V): elements to each member; allGather / reduceScatter: chunk of each member. */
  readonly counts: readonly number[];
  /** allToAll(V): elements from each member. */
  readonly recvCounts: readonly number[];
  readonly reduce: ReduceOp;
  /** broadcast root, or sendRecv destination; -1 for none. Group indices. */
  readonly peer: number;
  /** sendRecv source; -1 for none. */
  readonly src: number;
  readonly bytes: ByteCount;
}

const NONE = { counts: [], recvCounts: [], reduce: 'sum', peer: -1, src: -1 } as const;

export function planAllToAll(send: Payload, recv: Payload, group: Group): CollectiveCall {
  const dtype = pairDtype('allToAll', send, recv);
  const counts = equalAllToAllCounts(send, recv, group.ranks.length);
  const bytes = commBytes.allToAllV(counts, counts, group.index, bytesPerElement(dtype));
  return { ...NONE, name: 'allToAll', dtype, send, recv, counts, recvCounts: counts, bytes };
}

export function planAllToAllV(
  send: Payload, sendCounts: ChunkCounts, recv: Payload, recvCounts: ChunkCounts, group: Group,
): CollectiveCall {
  const name = 'allToAllV';
  const dtype = pairDtype(name, send, recv);
  const counts = checkCounts(name, 'sendCounts', sendCounts, group.ranks.length);
  const rcounts = checkCounts(name, 'recvCounts', recvCounts, group.ranks.length);
  checkLength(name, 'send', send, sum(counts));
  checkLength(name, 'recv', recv, sum(rcounts));
  const bytes = commBytes.allToAllV(counts, rcounts, group.index, bytesPerElement(dtype));
  return { ...NONE, name, dtype, send, recv, counts, recvCounts: rcounts, bytes };
}

export function planAllGather(send: Payload, recv: Payload, group: Group, chunkCounts?: ChunkCounts): CollectiveCall {
  const name = 'allGather';
  const dtype = pairDtype(name, send, recv);
  const size = group.ranks.length;
  const counts = chunkCounts ? checkCounts(name, 'counts', chunkCounts, size) : new Array<number>(size).fill(send.length);
  checkLength(name, 'send', send, counts[group.index] as number);
  checkLength(name, 'recv', recv, sum(counts));
  const bytes = commBytes.allGather(counts, group.index, bytesPerElement(dtype));
  return { ...NONE, name, dtype, send, recv, counts, bytes };
}

export function planReduceScatter(
  send: Payload, recv: Payload, group: Group, op: ReduceOp, chunkCounts?: ChunkCounts,
): CollectiveCall {
  const name = 'reduceScatter';
  const dtype = pairDtype(name, send, recv);
  const size = group.ranks.length;
  const counts = chunkCounts ? checkCounts(name, 'counts', chunkCounts, size) : new Array<number>(size).fill(recv.length);
  checkLength(name, 'recv', recv, counts[group.index] as number);
  checkLength(name, 'send', send, sum(counts));
  const bytes = commBytes.reduceScatter(counts, group.index, bytesPerElement(dtype));
  return { ...NONE, name, dtype, send, recv, counts, reduce: checkReduceOp(name, op), bytes };
}

export function planAllReduce(buf: Payload, group: Group, op: ReduceOp): CollectiveCall {
  const name = 'allReduce';
  const dtype = payloadDtype(name, buf);
  checkLength(name, 'buf', buf, buf.length);
  const bytes = commBytes.allReduce(evenCounts(buf.length, group.ranks.length), group.index, bytesPerElement(dtype));
  return { ...NONE, name, dtype, send: buf, recv: buf, reduce: checkReduceOp(name, op), bytes };
}

export function planBroadcast(buf: Payload, root: number, group: Group): CollectiveCall {
  const name = 'broadcast';
  const dtype = payloadDtype(name, buf);
  checkLength(name, 'buf', buf, buf.length);
  checkIndex(name, 'root', root, group);
  const bytes = commBytes.broadcast(buf.length, group.ranks.length, group.index, root, bytesPerElement(dtype));
  return { ...NONE, name, dtype, send: buf, recv: buf, peer: root, bytes };
}

export function planSendRecv(
  send: Payload | null, dst: number | null, recv: Payload | null, src: number | null, group: Group,
): CollectiveCall {
  const name = 'sendRecv';
  if ((send === null) !== (dst === null)) throw new RangeError(`${name}: send and dst must both be given or both be null`);
  if ((recv === null) !== (src === null)) throw new RangeError(`${name}: recv and src must both be given or both be null`);
  if (dst !== null) checkIndex(name, 'dst', dst, group);
  if (src !== null) checkIndex(name, 'src', src, group);
  const me = group.index;
  if ((dst === me) !== (src === me)) {
    throw new RangeError(`${name}: a member that sends to itself must also receive from itself (dst ${dst}, src ${src})`);
  }
  const dtype = send && recv ? pairDtype(name, send, recv) : send ? payloadDtype(name, send) : recv ? payloadDtype(name, recv) : 'fp32';
  if (send) checkLength(name, 'send', send, send.length);
  if (recv) checkLength(name, 'recv', recv, recv.length);
  if (dst === me && send && recv) checkLength(name, 'recv (self exchange)', recv, send.length);
  const sendN = send && dst !== me ? send.length : 0;
  const recvN = recv && src !== me ? recv.length : 0;
  const bytes = commBytes.sendRecv(sendN, recvN, bytesPerElement(dtype));
  return { ...NONE, name, dtype, send, recv, peer: dst ?? -1, src: src ?? -1, bytes };
}

export function planBarrier(): CollectiveCall {
  return { ...NONE, name: 'barrier', dtype: 'fp32', send: null, recv: null, bytes: commBytes.barrier() };
}
