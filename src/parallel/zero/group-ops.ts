// The few collectives ZeRO needs, over the dp × sp group, with a group of one (or no communicator)
// done as local copies so a one-worker run takes the same code path.
import type { CommHandle, Communicator } from '../../dist/communicator.js';
import type { Group } from '../../dist/group.js';

/** An operation that may still be in flight. */
export interface Pending {
  waitSync(): void;
  /** Moves the operation forward without blocking (MPI progresses only inside its calls); true once done. */
  test(): boolean;
}

const DONE: Pending = { waitSync: () => {}, test: () => true };

export class GroupOps {
  readonly size: number;
  readonly index: number;

  constructor(private readonly comm: Communicator | null, readonly group: Group | null) {
    this.size = comm && group ? group.ranks.length : 1;
    this.index = comm && group ? group.index : 0;
  }

  private get remote(): { comm: Communicator; group: Group } | null {
    return this.size > 1 && this.comm && this.group ? { comm: this.comm, group: this.group } : null;
  }

  /** In place: buf = sum over members. */
  allReduce(buf: Float32Array): void {
    const r = this.remote;
    if (r) r.comm.allReduce(buf, r.group);
  }

  /** recv[P * send.length] = every member's send, in member order (send may be recv's own chunk). */
  allGatherAsync(send: Float32Array, recv: Float32Array): Pending {
    const r = this.remote;
    if (r) return handle(r.comm.allGatherAsync(send, recv, r.group));
    if (send !== recv) recv.set(send);
    return DONE;
  }

  allGather(send: Float32Array, recv: Float32Array): void {
    this.allGatherAsync(send, recv).waitSync();
  }

  /** recv = this member's chunk of the sum over members of send[P * recv.length]. */
  reduceScatterAsync(send: Float32Array, recv: Float32Array): Pending {
    const r = this.remote;
    if (r) return handle(r.comm.reduceScatterAsync(send, recv, r.group));
    recv.set(send.subarray(0, recv.length));
    return DONE;
  }

  reduceScatter(send: Float32Array, recv: Float32Array): void {
    this.reduceScatterAsync(send, recv).waitSync();
  }

  /**
   * Sum of one float64 per member, identical on every member: each sends its value as two fp32
   * digits (high and remainder), and every member adds them all in member order in float64.
   */
  sumNumber(x: number): number {
    if (!this.remote) return x;
    const hi = Math.fround(x);
    const mine = Float32Array.of(hi, x - hi);
    const all = new Float32Array(2 * this.size);
    this.allGather(mine, all);
    let s = 0;
    for (let j = 0; j < this.size; j++) s += (all[2 * j] as number) + (all[2 * j + 1] as number);
    return s;
  }
}

function handle(h: CommHandle): Pending {
  return { waitSync: () => h.waitSync(), test: () => h.test() };
}
