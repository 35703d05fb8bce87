// Starts a threads job from the main thread: P worker threads, each running the same entry
// module's main(comm, args) with its own rank (SPMD). Resolves with every rank's return value, or
// rejects with the first failed rank's error. After a failure, ranks that do not stop on their own
// within graceMs are terminated, so a job never hangs.
import { randomUUID } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { chooseOpenBlasCore } from '../../kernels/native/binding.js';
import type { Communicator } from '../communicator.js';
import { controlLayout, createControl } from './layout.js';
import { Mailbox } from './mailbox.js';
import { DEFAULT_OPTIONS, ThreadsCommunicator, type ThreadsOptions } from './threads-communicator.js';
import { serializeError, type SerializedError, type WorkerInit, type WorkerReport } from './protocol.js';

/** What an entry module exports as `main` (or default): the program every rank runs. */
export type RankMain<A = unknown, R = unknown> = (comm: Communicator, args: A) => R | Promise<R>;

export interface LaunchOptions extends ThreadsOptions {
  /** After the first failure, how long other ranks may take to stop before termination (ms, default timeoutMs). */
  readonly graceMs?: number;
}

/** The launcher's rejection: the first failed rank's error, plus what every rank reported. */
export class RankFailedError extends Error {
  constructor(
    readonly rank: number,
    /** Per rank: its error, or undefined if it finished normally. */
    readonly errors: readonly (SerializedError | undefined)[],
  ) {
    const first = errors[rank];
    super(`rank ${rank} failed: ${first ? `${first.name}: ${first.message}` : 'unknown error'}`);
    this.name = 'RankFailedError';
    if (first?.stack) this.stack = `${this.name}: ${this.message}\n--- rank ${rank} ---\n${first.stack}`;
  }
}

function resolveOptions(options: ThreadsOptions): Required<ThreadsOptions> {
  const out = { ...DEFAULT_OPTIONS };
  for (const key of Object.keys(DEFAULT_OPTIONS) as (keyof ThreadsOptions)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v <= 0 || (key === 'slots' && !Number.isInteger(v))) {
      throw new RangeError(`launchThreads: option ${key} must be a positive ${key === 'slots' ? 'integer' : 'number'}, got ${v}`);
    }
    out[key] = v;
  }
  return out;
}

function entryHref(entry: URL | string): string {
  if (entry instanceof URL) return entry.href;
  return /^[a-z][a-z0-9+.-]*:/i.test(entry) && !/^[a-z]:[\\/]/i.test(entry) ? entry : pathToFileURL(resolvePath(entry)).href;
}

/**
 * Runs `entry`'s main(comm, args) on `world` worker threads and returns each rank's result.
 * `args` and the results must be structured-cloneable.
 */
export function launchThreads<R = unknown>(
  world: number, entry: URL | string, args?: unknown, options: LaunchOptions = {},
): Promise<R[]> {
  if (!Number.isInteger(world) || world < 1) throw new RangeError(`launchThreads: world must be a positive integer, got ${world}`);
  const opts = resolveOptions(options);
  // Workers inherit the process environment, which only the main thread can change.
  chooseOpenBlasCore();
  const graceMs = options.graceMs ?? opts.timeoutMs;
  if (!(graceMs >= 0)) throw new RangeError(`launchThreads: option graceMs must be a non-negative number, got ${graceMs}`);
  const layout = controlLayout(world, opts.slots);
  const control = createControl(layout);
  const channel = `ulysses-threads-${randomUUID()}`;
  const href = entryHref(entry);
  const workerUrl = new URL('./worker-main.js', import.meta.url);
  const mailbox = new Mailbox(control, layout, 0);

  return new Promise<R[]>((resolve, reject) => {
    const results = new Array<R>(world);
    const errors = new Array<SerializedError | undefined>(world).fill(undefined);
    const done = new Array<boolean>(world).fill(false);
    const terminated = new Set<number>();
    let exited = 0;
    let grace: NodeJS.Timeout | undefined;
    const workers: Worker[] = [];

    const fail = (rank: number, error: SerializedError): void => {
      errors[rank] ??= error;
      mailbox.abort(rank);
      grace ??= setTimeout(() => {
        workers.forEach((w, r) => {
          if (!done[r] && !errors[r]) terminated.add(r);
          void w.terminate();
        });
      }, graceMs);
    };

    const settle = (): void => {
      if (grace) clearTimeout(grace);
      const first = mailbox.abortedBy();
      if (first < 0) resolve(results);
      else reject(new RankFailedError(first, errors));
    };

    for (let rank = 0; rank < world; rank++) {
      const init: WorkerInit = { threads: { rank, world, control, channel, options: opts }, entry: href, args };
      const w = new Worker(workerUrl, { workerData: init });
      workers.push(w);
      w.on('message', (m: WorkerReport) => {
        if (m.kind === 'done') {
          results[rank] = m.result as R;
          done[rank] = true;
        } else fail(rank, m.error);
      });
      w.on('error', (e) => fail(rank, serializeError(e)));
      w.on('exit', (code) => {
        if (!done[rank] && !errors[rank]) {
          const message = terminated.has(rank)
            ? `rank ${rank} was terminated ${graceMs} ms after rank ${mailbox.abortedBy()} failed`
            : `rank ${rank} exited with code ${code} before finishing` +
              (code === 13 ? ' (its main never settled: it awaited a promise nothing resolves)' : '');
          fail(rank, { name: 'Error', message });
        }
        if (++exited === world) settle();
      });
    }
  });
}

/** A world of one rank in the calling thread, for single-process runs and tests. */
export function singleRankCommunicator(options: ThreadsOptions = {}): ThreadsCommunicator {
  const opts = resolveOptions(options);
  const control = createControl(controlLayout(1, opts.slots));
  const comm = new ThreadsCommunicator({ rank: 0, world: 1, control, channel: `ulysses-threads-${randomUUID()}`, options: opts });
  comm.connect();
  return comm;
}
