// The Communicator contract every backend implements (threads now, MPI later). SPMD, like
// torch.distributed: every rank runs the same program and calls the same collectives on a group
// in the same order. Buffers are caller-owned typed arrays; counts are in elements.
//
// Payloads: Float32Array (fp32) or Uint16Array holding bf16 bit patterns. Send and receive buffers
// of one call have the same type. bf16 reductions convert to fp32, reduce, and round to nearest
// even back to bf16 once. Reductions sum members in group order, and every member receives
// bit-identical results.
//
// Each collective has a blocking form and an async form returning a CommHandle. Until the handle
// completes, the caller must not modify the send buffer nor read or modify the receive buffer (the
// threads backend copies the send buffer at start unless it came from allocShared, MPI does not).
import type { CommSnapshot } from './accounting.js';
import type { Group } from './group.js';

export type { Group } from './group.js';

/** fp32 data, or bf16 bit patterns. */
export type Payload = Float32Array | Uint16Array;

export type ReduceOp = 'sum' | 'max';

export type CollectiveName =
  | 'allToAll' | 'allToAllV' | 'allGather' | 'reduceScatter' | 'allReduce' | 'broadcast' | 'sendRecv' | 'barrier';

/** An operation in flight. */
export interface CommHandle {
  /** Resolves when the operation is complete; rejects with the collective's error. */
  wait(): Promise<void>;
  /** Blocks the thread until the operation is complete; throws the collective's error. */
  waitSync(): void;
  /** Makes progress without blocking; true once complete. */
  test(): boolean;
}

/** Uneven all-gather / reduce-scatter: element count of each member's chunk, in group order. */
export type ChunkCounts = readonly number[];

export interface Communicator {
  /** Global rank of this process or thread. */
  readonly rank: number;
  readonly worldSize: number;
  /** The group of all ranks, named 'world'. */
  readonly world: Group;

  /**
   * All-to-all with equal splits: send and recv have the same length L, divisible by the group
   * size P; block j (L/P elements) of send goes to member j, and recv block j comes from member j.
   */
  allToAll<T extends Payload>(send: T, recv: T, group: Group): void;
  allToAllAsync<T extends Payload>(send: T, recv: T, group: Group): CommHandle;

  /**
   * All-to-all with uneven splits (alltoallv): send is packed as sendCounts[0] elements for member
   * 0, then sendCounts[1] for member 1, ...; recv is packed by source with recvCounts. Lengths
   * must equal the sums, and recvCounts[j] must equal member j's sendCounts[this index].
   */
  allToAllV<T extends Payload>(send: T, sendCounts: ChunkCounts, recv: T, recvCounts: ChunkCounts, group: Group): void;
  allToAllVAsync<T extends Payload>(
    send: T, sendCounts: ChunkCounts, recv: T, recvCounts: ChunkCounts, group: Group,
  ): CommHandle;

  /**
   * recv = concatenation of every member's send, in group order. Without counts all chunks have
   * send.length elements; with counts, member j contributes counts[j] elements.
   */
  allGather<T extends Payload>(send: T, recv: T, group: Group, counts?: ChunkCounts): void;
  allGatherAsync<T extends Payload>(send: T, recv: T, group: Group, counts?: ChunkCounts): CommHandle;

  /**
   * recv = chunk `index` of the element-wise reduction of every member's send. Without counts,
   * send.length = P * recv.length; with counts, chunk j has counts[j] elements.
   */
  reduceScatter<T extends Payload>(send: T, recv: T, group: Group, op?: ReduceOp, counts?: ChunkCounts): void;
  reduceScatterAsync<T extends Payload>(
    send: T, recv: T, group: Group, op?: ReduceOp, counts?: ChunkCounts,
  ): CommHandle;

  /** In place: buf = element-wise reduction (default sum) of every member's buf. */
  allReduce(buf: Payload, group: Group, op?: ReduceOp): void;
  allReduceAsync(buf: Payload, group: Group, op?: ReduceOp): CommHandle;

  /** In place: every member's buf = the buf of member `root` (a group index). */
  broadcast(buf: Payload, root: number, group: Group): void;
  broadcastAsync(buf: Payload, root: number, group: Group): CommHandle;

  /**
   * One step of a ring or pairwise exchange: send goes to member `dst` while recv is filled from
   * member `src` (group indices; null to skip a side). Every member of the group calls sendRecv in
   * the same step, so use group.next / group.prev for a ring shift or a 2-member group for a pair.
   */
  sendRecv<T extends Payload>(send: T | null, dst: number | null, recv: T | null, src: number | null, group: Group): void;
  sendRecvAsync<T extends Payload>(
    send: T | null, dst: number | null, recv: T | null, src: number | null, group: Group,
  ): CommHandle;

  barrier(group: Group): void;
  barrierAsync(group: Group): CommHandle;

  /**
   * Optional: a zero-filled buffer of `length` elements (a Float32Array for fp32, a Uint16Array for
   * bf16) that this backend can send from without copying it first. On the threads backend peers
   * read it in place (one copy per transfer instead of two), so a blocking call returns only once
   * every peer has read it, and an async call's send data must stay untouched until its handle
   * completes. Any subarray of it may be sent. Backends without such memory leave this undefined;
   * allocPayload() falls back to an ordinary typed array.
   */
  allocShared?(length: number, dtype: 'fp32' | 'bf16'): Payload;
  /** Optional: gives back a buffer from allocShared (the whole buffer, no longer in use by any call). */
  freeShared?(buf: Payload): void;

  /** Bytes and time per collective and per group since the last reset (see accounting.ts). */
  snapshot(): CommSnapshot;
  reset(): void;
}

/**
 * A send buffer for `comm`: from comm.allocShared where the backend offers it (fewer copies), else
 * an ordinary zero-filled typed array.
 */
export function allocPayload(comm: Communicator, length: number, dtype: 'fp32' | 'bf16'): Payload {
  if (comm.allocShared) return comm.allocShared(length, dtype);
  return dtype === 'fp32' ? new Float32Array(length) : new Uint16Array(length);
}
