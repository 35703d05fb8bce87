// The Open MPI backend of Communicator: one rank per process of an mpirun job. Groups map to MPI
// communicators registered up front (comm-registry.ts); every collective starts as one nonblocking
// MPI call (mpi-ops.ts), and blocking forms wait on it under the watchdog (polling.ts).
//
// Failure: a call that times out, is mismatched or gets an MPI error throws, poisons the
// communicator (later calls throw the same error) and, unless abortOnFailure is false, aborts the
// whole job on the next turn of the event loop, so no rank is left waiting on this one.
import { checkGroup } from '../collective-args.js';
import type { CommHandle } from '../communicator.js';
import { CommMismatchError } from '../errors.js';
import { describeGroup, makeGroup, type Group } from '../group.js';
import type * as plan from '../plan.js';
import { PlannedCommunicator } from '../planned-communicator.js';
import type { MpiBinding, MpiComm, MpiRequest } from '../../kernels/native/mpi-binding.js';
import { CommRegistry, groupKey, type GroupLists } from './comm-registry.js';
import { countMismatch, startCall, startCountExchange } from './mpi-ops.js';
import { mpiCallError, timeoutError, type CallLabel } from './op-errors.js';
import { resolveMpiOptions, type MpiOptions } from './mpi-options.js';
import { pollAsync, pollSync } from './polling.js';

/** One collective in flight. */
interface MpiOp extends CallLabel {
  request: MpiRequest | null;
  finish: (() => void) | undefined;
  done: boolean;
  timeMs: number;
  recorded: boolean;
}

export class MpiCommunicator extends PlannedCommunicator<MpiOp> {
  override readonly rank: number;
  override readonly worldSize: number;
  override readonly world: Group;
  readonly #mpi: MpiBinding;
  readonly #opts: Required<MpiOptions>;
  readonly #registry: CommRegistry;
  readonly #seqs = new Map<string, number>();
  readonly #inFlight = new Set<MpiOp>();
  #failure: Error | null = null;

  /** Use mpiCommunicator() (setup.ts), which initialises MPI first. */
  constructor(mpi: MpiBinding, rank: number, worldSize: number, options: MpiOptions = {}) {
    super();
    this.#mpi = mpi;
    this.rank = rank;
    this.worldSize = worldSize;
    this.world = makeGroup('world', Array.from({ length: worldSize }, (_, r) => r), rank);
    this.#opts = resolveMpiOptions(options);
    this.#registry = new CommRegistry(mpi, rank, worldSize);
  }

  /**
   * Creates the MPI communicators of `lists` (group member lists, in group order). Collective over
   * the world: every rank calls it with the same lists in the same order, before using the groups.
   */
  addGroups(lists: GroupLists): void {
    this.#registry.add(lists);
  }

  /** The first failure of a started call, or null while the communicator is healthy. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** Frees the group communicators (collective); refused while calls are in flight. */
  free(): void {
    if (this.#inFlight.size > 0) {
      const ops = [...this.#inFlight].map((op) => `${op.call.name} #${op.seq} on ${op.label}`);
      throw new Error(`MpiCommunicator.free: ${ops.length} calls are still in flight (${ops.join('; ')}); wait for them first`);
    }
    this.#registry.free();
  }

  /** Prints `err` as this rank's failure and ends every rank of the job with exit code 1. */
  abortJob(err: unknown): never {
    const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
    process.stderr.write(`rank ${this.rank} failed: ${text}\nrank ${this.rank}: aborting the MPI job\n`);
    return this.#mpi.mpiAbort(1);
  }

  protected override start(call: plan.CollectiveCall, group: Group): MpiOp {
    if (this.#failure) throw this.#failure;
    const t0 = performance.now();
    checkGroup(call.name, group, this.rank, this.worldSize);
    const comm = this.#registry.handle(group.ranks);
    if (comm === undefined) {
      throw new RangeError(
        `${call.name}: group ${describeGroup(group)} has no MPI communicator. MPI creates communicators ` +
          'collectively over all ranks, so declare every group up front on every rank: runSpmd({ grid }) or ' +
          '{ groups }, an entry module exporting groups(world), or comm.addGroups([...]) called by every rank',
      );
    }
    const key = groupKey(group.ranks);
    const seq = this.#seqs.get(key) ?? 1;
    const op: MpiOp = {
      call, group, label: describeGroup(group), seq, request: null, finish: undefined, done: false, timeMs: 0, recorded: false,
    };
    if (call.name === 'allToAllV') {
      this.#seqs.set(key, seq + 1); // the count exchange is posted: this call number is used up
      this.#checkCounts(op, comm);
    }
    try {
      const started = startCall(this.#mpi, call, comm, group.index, seq % 32768);
      op.request = started.request;
      op.finish = started.finish;
    } catch (e) {
      // The binding checks its arguments before MPI sees them: a refused call posts nothing.
      if (call.name !== 'allToAllV' && (e instanceof RangeError || e instanceof TypeError)) throw e;
      throw this.#fail(mpiCallError(op, e));
    }
    this.#seqs.set(key, seq + 1);
    if (op.request === null) this.#complete(op);
    else this.#inFlight.add(op);
    op.timeMs += performance.now() - t0;
    return op;
  }

  /** Exchanges allToAllV counts and throws CommMismatchError if a peer sends other than expected. */
  #checkCounts(op: MpiOp, comm: MpiComm): void {
    const { request, incoming } = startCountExchange(this.#mpi, op.call, comm);
    this.#waitRequest(op, request);
    const detail = countMismatch(op.call, incoming, op.group.index, op.group.ranks);
    if (detail !== null) throw this.#fail(new CommMismatchError(op.call.name, op.label, op.seq, detail));
  }

  /** Waits for a request that is not the op's own (the count exchange), under the same watchdog. */
  #waitRequest(op: MpiOp, request: MpiRequest): void {
    let done = false;
    const test = (): boolean => {
      try {
        return (done ||= this.#mpi.mpiTest(request));
      } catch (e) {
        throw this.#fail(mpiCallError(op, e));
      }
    };
    pollSync(test, this.#opts, () => this.#fail(timeoutError(op, this.rank, this.#opts.timeoutMs)));
  }

  #complete(op: MpiOp): void {
    op.finish?.();
    op.done = true;
    this.#inFlight.delete(op);
  }

  /** Tests the op's request once; true once complete. */
  #poll(op: MpiOp): boolean {
    if (op.done) return true;
    if (this.#failure) throw this.#failure;
    let ready: boolean;
    try {
      ready = op.request === null || this.#mpi.mpiTest(op.request);
    } catch (e) {
      throw this.#fail(mpiCallError(op, e));
    }
    if (ready) this.#complete(op);
    return op.done;
  }

  protected override finish(op: MpiOp): void {
    const t0 = performance.now();
    try {
      if (!op.done && !Number.isFinite(this.#opts.timeoutMs) && op.request !== null && !this.#failure) {
        try {
          this.#mpi.mpiWait(op.request);
        } catch (e) {
          throw this.#fail(mpiCallError(op, e));
        }
        this.#complete(op);
      }
      pollSync(() => this.#poll(op), this.#opts, () => this.#fail(timeoutError(op, this.rank, this.#opts.timeoutMs)));
    } finally {
      op.timeMs += performance.now() - t0;
    }
    this.#record(op);
  }

  async #wait(op: MpiOp): Promise<void> {
    const t0 = performance.now();
    try {
      await pollAsync(() => this.#poll(op), this.#opts, () => this.#fail(timeoutError(op, this.rank, this.#opts.timeoutMs)));
    } finally {
      op.timeMs += performance.now() - t0;
    }
    this.#record(op);
  }

  protected override handle(op: MpiOp): CommHandle {
    return {
      wait: () => this.#wait(op),
      waitSync: () => this.finish(op),
      test: () => {
        const done = this.#poll(op);
        if (done) this.#record(op);
        return done;
      },
    };
  }

  #record(op: MpiOp): void {
    if (op.recorded) return;
    op.recorded = true;
    this.stats.record(op.call.name, op.group.name, op.call.bytes, op.timeMs);
  }

  /** Remembers the first failure and, unless disabled, aborts the job once the caller has seen it. */
  #fail(err: Error): Error {
    if (this.#failure) return this.#failure;
    this.#failure = err;
    if (this.#opts.abortOnFailure) setTimeout(() => this.abortJob(err), 0);
    return err;
  }
}
