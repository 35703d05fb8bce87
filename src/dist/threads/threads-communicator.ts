// The worker-thread backend of Communicator: P ranks as threads of one process sharing a control
// block and staging buffers (see layout.ts, staging.ts, ops.ts).
//
// Blocking forms really block the thread (Atomics.wait on this rank's doorbell); async forms post
// at once and complete in wait() via Atomics.waitAsync, so the event loop stays free. While a rank
// waits for anything it advances every call it has in flight, so calls never wait on each other.
// A waiting rank wakes on every doorbell ring and at least every pollMs to check the abort word
// and its timeout, so a failed or missing rank turns into an error instead of a hang.
import type { CommHandle, Payload } from '../communicator.js';
import { checkGroup } from '../collective-args.js';
import { CommAbortedError, CommTimeoutError } from '../errors.js';
import { describeGroup, makeGroup, type Group } from '../group.js';
import type * as plan from '../plan.js';
import { PlannedCommunicator } from '../planned-communicator.js';
import { controlLayout } from './layout.js';
import { Mailbox } from './mailbox.js';
import { ThreadsOp, type OpContext } from './ops.js';
import { ReduceScratch } from './reduce.js';
import { GroupSequences } from './sequences.js';
import { Staging, bestFitSlot } from './staging.js';

export interface ThreadsOptions {
  /** How long a rank waits for peers before failing, in ms (default 60 000). */
  readonly timeoutMs?: number;
  /** Mailbox slots per rank, i.e. collectives one rank may have in flight (default 8). */
  readonly slots?: number;
  /** Longest sleep between checks of the abort word and the clock, in ms (default 50). */
  readonly pollMs?: number;
  /** First size of a slot's staging buffer, in bytes (default 256 KiB). */
  readonly initialStagingBytes?: number;
  /** Largest staging buffer per slot, in bytes (default 8 GiB); bigger messages are refused. */
  readonly maxStagingBytes?: number;
}

export const DEFAULT_OPTIONS: Required<ThreadsOptions> = {
  timeoutMs: 60_000, slots: 8, pollMs: 50, initialStagingBytes: 256 * 1024, maxStagingBytes: 8 * 1024 ** 3,
};

/** What a worker needs to join a job (structured-cloneable, sent as workerData). */
export interface ThreadsInit {
  readonly rank: number;
  readonly world: number;
  readonly control: SharedArrayBuffer;
  readonly channel: string;
  readonly options: Required<ThreadsOptions>;
}

export class ThreadsCommunicator extends PlannedCommunicator<ThreadsOp> {
  override readonly rank: number;
  override readonly worldSize: number;
  override readonly world: Group;
  readonly #opts: Required<ThreadsOptions>;
  readonly #mailbox: Mailbox;
  readonly #staging: Staging;
  readonly #ctx: OpContext;
  readonly #sequences = new GroupSequences();
  readonly #slots: (ThreadsOp | null)[];
  #pending: ThreadsOp[] = [];
  #failure: Error | null = null;

  constructor(init: ThreadsInit) {
    super();
    this.rank = init.rank;
    this.worldSize = init.world;
    this.world = makeGroup('world', Array.from({ length: init.world }, (_, r) => r), init.rank);
    this.#opts = init.options;
    const layout = controlLayout(init.world, init.options.slots);
    this.#mailbox = new Mailbox(init.control, layout, init.rank);
    this.#staging = new Staging(init.rank, init.options.slots, init.channel, {
      initialBytes: init.options.initialStagingBytes, maxBytes: init.options.maxStagingBytes,
    });
    this.#ctx = { rank: init.rank, mailbox: this.#mailbox, staging: this.#staging, scratch: new ReduceScratch() };
    this.#slots = new Array<ThreadsOp | null>(init.options.slots).fill(null);
  }

  /** Startup handshake: returns once every rank has joined (so no staging announcement is missed). */
  connect(): void {
    this.#mailbox.arrive();
    const t0 = performance.now();
    for (;;) {
      const bell = this.#mailbox.bell();
      if (this.#mailbox.arrived() >= this.worldSize) return;
      const failed = this.#mailbox.abortedBy();
      if (failed >= 0) throw new Error(`startup: rank ${failed} failed before all ${this.worldSize} ranks joined`);
      const waited = performance.now() - t0;
      if (waited > this.#opts.timeoutMs) {
        throw new Error(`startup: only ${this.#mailbox.arrived()} of ${this.worldSize} ranks joined within ${this.#opts.timeoutMs} ms`);
      }
      this.#mailbox.waitBell(bell, this.#opts.pollMs);
    }
  }

  /** Marks this rank as failed, which makes every other rank's pending or next collective fail. */
  abort(): void {
    this.#mailbox.abort(this.rank);
  }

  close(): void {
    this.#staging.close();
  }

  /** A zero-filled buffer peers read in place when it is sent (see Communicator.allocShared). */
  allocShared(length: number, dtype: 'fp32' | 'bf16'): Payload {
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(`allocShared: length must be a whole number of elements (0 or more), got ${length}`);
    }
    if (dtype !== 'fp32' && dtype !== 'bf16') throw new TypeError(`allocShared: dtype must be 'fp32' or 'bf16', got ${String(dtype)}`);
    const buffer = new SharedArrayBuffer(length * (dtype === 'fp32' ? 4 : 2));
    this.#staging.share(buffer);
    return dtype === 'fp32' ? new Float32Array(buffer) : new Uint16Array(buffer);
  }

  /** Gives back a buffer from allocShared; refused while a call of this rank may still read it. */
  freeShared(buf: Payload): void {
    const buffer = buf.buffer;
    if (!(buffer instanceof SharedArrayBuffer) || this.#staging.sharedId(buffer) === 0) {
      throw new TypeError("freeShared: the buffer did not come from this communicator's allocShared (or was freed already)");
    }
    const user = this.#pending.find((op) => !op.done && op.inPlaceBuffer === buffer);
    if (user) {
      throw new Error(
        `freeShared: ${user.name} call ${user.seq} on ${user.opGroup.label} still sends from this buffer; wait for it first`,
      );
    }
    this.#staging.unshare(buffer);
  }

  protected override start(call: plan.CollectiveCall, group: Group): ThreadsOp {
    if (this.#failure) throw this.#failure;
    const t0 = performance.now();
    this.#staging.drain();
    checkGroup(call.name, group, this.rank, this.worldSize);
    const gs = this.#sequences.get(group.ranks);
    const op = new ThreadsOp(this.#ctx, call, { group, label: describeGroup(group), key: gs.key }, gs.nextSeq);
    const slot = this.#acquire(op);
    try {
      op.post(slot);
    } catch (e) {
      this.#slots[slot] = null;
      throw e;
    }
    gs.nextSeq++;
    this.#pending.push(op);
    op.timeMs += performance.now() - t0;
    return op;
  }

  /** A free mailbox slot for `op`, waiting if all are busy. */
  #acquire(op: ThreadsOp): number {
    const t0 = performance.now();
    const need = op.stagingBytes;
    for (;;) {
      const bell = this.#mailbox.bell();
      this.#progress();
      let unread: number[] = [];
      const free: number[] = [];
      for (let s = 0; s < this.#slots.length; s++) {
        const holder = this.#slots[s];
        const missing = holder ? this.#mailbox.unacked(s, holder.opGroup.group.ranks) : [];
        if (!holder || (holder.done && missing.length === 0)) free.push(s);
        else unread = [...new Set([...unread, ...missing])];
      }
      if (free.length > 0) {
        const s = bestFitSlot(free, need, (slot) => this.#staging.capacity(slot));
        this.#slots[s] = op;
        return s;
      }
      this.#checkHealth(op, t0, {
        ranks: unread.sort((a, b) => a - b),
        who: `all ${this.#slots.length} mailbox slots are busy; ranks that have not finished this rank's earlier calls`,
      });
      this.#mailbox.waitBell(bell, this.#sleepMs(t0));
    }
  }

  /** Advances every call in flight, in the order they started. */
  #progress(): void {
    if (this.#failure) throw this.#failure;
    try {
      for (const op of this.#pending) if (!op.done) op.step();
    } catch (e) {
      throw this.#fail(e);
    }
    if (this.#pending.some((op) => op.done)) this.#pending = this.#pending.filter((op) => !op.done);
  }

  /** Throws if the job was aborted or this wait has lasted longer than the timeout. */
  #checkHealth(op: ThreadsOp, t0: number, waiting = op.waitingOn()): void {
    const label = op.opGroup.label;
    const failed = this.#mailbox.abortedBy();
    if (failed >= 0) {
      throw this.#fail(new CommAbortedError(op.name, label, op.seq, waiting.ranks, failed, waiting.who));
    }
    if (performance.now() - t0 > this.#opts.timeoutMs) {
      throw this.#fail(new CommTimeoutError(op.name, label, op.seq, waiting.ranks, this.#opts.timeoutMs, waiting.who));
    }
  }

  /**
   * Remembers the first failure of a posted call: it poisons the communicator and, unless it only
   * reports another rank's failure, stops the job. (Calls refused before posting do neither.)
   */
  #fail(e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    if (!this.#failure) this.#failure = err;
    if (!(err instanceof CommAbortedError)) this.#mailbox.abort(this.rank);
    return err;
  }

  #sleepMs(t0: number): number {
    const left = this.#opts.timeoutMs - (performance.now() - t0);
    return Math.max(1, Math.min(this.#opts.pollMs, left + 1));
  }

  #record(op: ThreadsOp): void {
    if (op.recorded) return;
    op.recorded = true;
    this.stats.record(op.name, op.opGroup.group.name, op.bytes, op.timeMs);
  }

  protected override finish(op: ThreadsOp): void {
    const t0 = performance.now();
    try {
      for (;;) {
        const bell = this.#mailbox.bell();
        this.#progress();
        if (op.done) break;
        this.#checkHealth(op, t0);
        this.#mailbox.waitBell(bell, this.#sleepMs(t0));
      }
    } finally {
      op.timeMs += performance.now() - t0;
    }
    this.#record(op);
  }

  async #waitAsync(op: ThreadsOp): Promise<void> {
    const t0 = performance.now();
    try {
      for (;;) {
        const bell = this.#mailbox.bell();
        this.#progress();
        if (op.done) break;
        this.#checkHealth(op, t0);
        await this.#mailbox.waitBellAsync(bell, this.#sleepMs(t0));
      }
    } finally {
      op.timeMs += performance.now() - t0;
    }
    this.#record(op);
  }

  protected override handle(op: ThreadsOp): CommHandle {
    return {
      wait: () => this.#waitAsync(op),
      waitSync: () => this.finish(op),
      test: () => {
        this.#progress();
        if (!op.done && this.#mailbox.abortedBy() >= 0) this.#checkHealth(op, performance.now());
        if (op.done) this.#record(op);
        return op.done;
      },
    };
  }
}
