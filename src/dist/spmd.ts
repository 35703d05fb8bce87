// One way to run an SPMD program on either backend. The entry module exports main(comm, args) (or
// a default function) and, optionally, groups(worldSize): the member lists of the groups it uses,
// which the mpi backend must create up front. threads: this process starts every rank as a worker
// thread and gets every rank's result. mpi: this process is one rank of an mpirun job and gets its
// own result; a rank that fails prints its error and aborts the whole job.
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Communicator } from './communicator.js';
import type { GroupLists } from './mpi/comm-registry.js';
import type { MpiCommunicator } from './mpi/mpi-communicator.js';
import { mpiCommunicator, type MpiCommunicatorOptions } from './mpi/setup.js';
import { launchThreads, type LaunchOptions } from './threads/launcher.js';
import { loadMpiBinding, mpiBuildStatus } from '../kernels/native/mpi-binding.js';

export type SpmdBackend = 'threads' | 'mpi' | 'auto';

export interface SpmdOptions extends LaunchOptions, MpiCommunicatorOptions {
  /** 'auto' picks mpi when mpirun started this process (detectMpiLaunch), else threads. */
  readonly backend: SpmdBackend;
  /** threads: how many ranks to start (required). mpi: if given, must equal the mpirun size. */
  readonly world?: number;
  /** mpi: finalize MPI after main returns (default true); false to run another program in this process. */
  readonly finalize?: boolean;
}

interface EntryModule {
  readonly main?: unknown;
  readonly default?: unknown;
  readonly groups?: unknown;
}

type Main = (comm: Communicator, args: unknown) => unknown;

/** True when mpirun (Open MPI's launcher, or a PMIx one) started this process. */
export function detectMpiLaunch(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['OMPI_COMM_WORLD_SIZE'] !== undefined || env['PMIX_RANK'] !== undefined;
}

function entryHref(entry: URL | string): string {
  if (entry instanceof URL) return entry.href;
  return /^[a-z][a-z0-9+.-]*:/i.test(entry) && !/^[a-z]:[\\/]/i.test(entry) ? entry : pathToFileURL(resolvePath(entry)).href;
}

/**
 * Runs `entry`'s main(comm, args) SPMD and resolves with the results this process sees: every
 * rank's (threads) or this rank's alone (mpi).
 */
export async function runSpmd<R = unknown>(opts: SpmdOptions, entry: URL | string, args?: unknown): Promise<R[]> {
  const backend = opts.backend === 'auto' ? (detectMpiLaunch() ? 'mpi' : 'threads') : opts.backend;
  if (backend === 'threads') {
    if (opts.world === undefined) throw new RangeError('runSpmd: the threads backend needs opts.world, the number of ranks to start');
    const { timeoutMs, slots, pollMs, initialStagingBytes, maxStagingBytes, graceMs } = opts;
    return launchThreads<R>(opts.world, entry, args, { timeoutMs, slots, pollMs, initialStagingBytes, maxStagingBytes, graceMs });
  }
  if (backend !== 'mpi') throw new RangeError(`runSpmd: backend '${String(backend)}' is not 'threads', 'mpi' or 'auto'`);
  return [await runMpiRank<R>(opts, entry, args)];
}

/** The world size mpirun announced, 1 without mpirun, undefined when the launcher does not say. */
function launchedWorldSize(): number | undefined {
  if (!detectMpiLaunch()) return 1;
  const size = Number(process.env['OMPI_COMM_WORLD_SIZE']);
  return Number.isInteger(size) && size > 0 ? size : undefined;
}

function checkWorld(wanted: number | undefined, actual: number, how: string): void {
  if (wanted === undefined || wanted === actual) return;
  throw new RangeError(
    `runSpmd: opts.world is ${wanted} but this MPI job has ${actual} rank${actual === 1 ? '' : 's'} (${how}); ` +
      `start it with mpirun -np ${wanted}, or leave world out`,
  );
}

async function runMpiRank<R>(opts: SpmdOptions, entry: URL | string, args: unknown): Promise<R> {
  const status = mpiBuildStatus();
  if (!status.available) throw new Error(`runSpmd: the mpi backend is unavailable: ${status.reason}`);
  const launched = launchedWorldSize();
  if (launched !== undefined) checkWorld(opts.world, launched, detectMpiLaunch() ? 'from mpirun' : 'started without mpirun');
  const mpi = loadMpiBinding();
  let comm: MpiCommunicator | undefined;
  // Any failure of this rank ends every rank: the others may be waiting for it inside MPI.
  const die = (err: unknown): never => {
    if (comm) return comm.abortJob(err);
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`rank ${process.env['OMPI_COMM_WORLD_RANK'] ?? '?'} failed: ${text}\n`);
    return mpi.mpiAbort(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  try {
    comm = mpiCommunicator(opts);
    checkWorld(opts.world, comm.worldSize, 'MPI_Comm_size');
    const mod = (await import(entryHref(entry))) as EntryModule;
    const main = mod.main ?? mod.default;
    if (typeof main !== 'function') throw new TypeError(`${entryHref(entry)} exports no main(comm, args) function`);
    if (typeof mod.groups === 'function') comm.addGroups((mod.groups as (world: number) => GroupLists)(comm.worldSize));
    const result = (await (main as Main)(comm, args)) as R;
    if (comm.failure) throw comm.failure; // main swallowed a failed collective: peers may be stuck
    comm.free();
    if (opts.finalize ?? true) mpi.mpiFinalize();
    return result;
  } catch (e) {
    // A wrong world size is the same on every rank, so it can be thrown instead of aborting.
    if (e instanceof RangeError && e.message.startsWith('runSpmd: opts.world')) throw e;
    return die(e);
  } finally {
    process.off('uncaughtException', die);
    process.off('unhandledRejection', die);
  }
}
