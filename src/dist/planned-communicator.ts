// What every backend's Communicator shares: each collective is planned (plan.ts), started, and then
// either finished at once (blocking form) or handed back as a CommHandle (async form), and the
// bytes and time of finished calls go to one CommStats. A backend supplies only how to start, finish
// and hand out one call in flight.
import { CommStats, type CommSnapshot } from './accounting.js';
import type { ChunkCounts, CommHandle, Communicator, Payload, ReduceOp } from './communicator.js';
import type { Group } from './group.js';
import * as plan from './plan.js';

/** A Communicator whose collectives all go through start / finish / handle; Op is one call in flight. */
export abstract class PlannedCommunicator<Op> implements Communicator {
  abstract readonly rank: number;
  abstract readonly worldSize: number;
  abstract readonly world: Group;
  /** Where a backend records each finished call, once. */
  protected readonly stats = new CommStats();

  /** Posts a planned call on `group`; throws if it is refused or the communicator has failed. */
  protected abstract start(call: plan.CollectiveCall, group: Group): Op;
  /** Blocks until `op` is complete and records it; throws the call's error. */
  protected abstract finish(op: Op): void;
  /** The CommHandle through which the caller completes `op`. */
  protected abstract handle(op: Op): CommHandle;

  allToAll<T extends Payload>(send: T, recv: T, group: Group): void {
    this.finish(this.start(plan.planAllToAll(send, recv, group), group));
  }
  allToAllAsync<T extends Payload>(send: T, recv: T, group: Group): CommHandle {
    return this.handle(this.start(plan.planAllToAll(send, recv, group), group));
  }
  allToAllV<T extends Payload>(send: T, sendCounts: ChunkCounts, recv: T, recvCounts: ChunkCounts, group: Group): void {
    this.finish(this.start(plan.planAllToAllV(send, sendCounts, recv, recvCounts, group), group));
  }
  allToAllVAsync<T extends Payload>(
    send: T, sendCounts: ChunkCounts, recv: T, recvCounts: ChunkCounts, group: Group,
  ): CommHandle {
    return this.handle(this.start(plan.planAllToAllV(send, sendCounts, recv, recvCounts, group), group));
  }
  allGather<T extends Payload>(send: T, recv: T, group: Group, counts?: ChunkCounts): void {
    this.finish(this.start(plan.planAllGather(send, recv, group, counts), group));
  }
  allGatherAsync<T extends Payload>(send: T, recv: T, group: Group, counts?: ChunkCounts): CommHandle {
    return this.handle(this.start(plan.planAllGather(send, recv, group, counts), group));
  }
  reduceScatter<T extends Payload>(send: T, recv: T, group: Group, op: ReduceOp = 'sum', counts?: ChunkCounts): void {
    this.finish(this.start(plan.planReduceScatter(send, recv, group, op, counts), group));
  }
  reduceScatterAsync<T extends Payload>(
    send: T, recv: T, group: Group, op: ReduceOp = 'sum', counts?: ChunkCounts,
  ): CommHandle {
    return this.handle(this.start(plan.planReduceScatter(send, recv, group, op, counts), group));
  }
  allReduce(buf: Payload, group: Group, op: ReduceOp = 'sum'): void {
    this.finish(this.start(plan.planAllReduce(buf, group, op), group));
  }
  allReduceAsync(buf: Payload, group: Group, op: ReduceOp = 'sum'): CommHandle {
    return this.handle(this.start(plan.planAllReduce(buf, group, op), group));
  }
  broadcast(buf: Payload, root: number, group: Group): void {
    this.finish(this.start(plan.planBroadcast(buf, root, group), group));
  }
  broadcastAsync(buf: Payload, root: number, group: Group): CommHandle {
    return this.handle(this.start(plan.planBroadcast(buf, root, group), group));
  }
  sendRecv<T extends Payload>(send: T | null, dst: number | null, recv: T | null, src: number | null, group: Group): void {
    this.finish(this.start(plan.planSendRecv(send, dst, recv, src, group), group));
  }
  sendRecvAsync<T extends Payload>(
    send: T | null, dst: number | null, recv: T | null, src: number | null, group: Group,
  ): CommHandle {
    return this.handle(this.start(plan.planSendRecv(send, dst, recv, src, group), group));
  }
  barrier(group: Group): void {
    this.finish(this.start(plan.planBarrier(), group));
  }
  barrierAsync(group: Group): CommHandle {
    return this.handle(this.start(plan.planBarrier(), group));
  }

  snapshot(): CommSnapshot {
    return this.stats.snapshot();
  }
  reset(): void {
    this.stats.reset();
  }
}
