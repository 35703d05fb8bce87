// Thread placement: how the ranks of one machine share its cores. P ranks on C cores get t kernel
// and BLAS threads each, and at most k of them compute at once (core tokens, core-gate.ts), with
// k × t ≤ C. Fewer ranks than cores: every rank computes at once with C / P threads (k = P). More
// ranks than cores (threads backend): k = C / t ranks compute at once and the others wait for a
// core, instead of P × t threads time-slicing C cores; a rank waiting on an all-to-all hands its
// core to one still computing. Under mpi each rank is a process and no gate is shared.
import { availableParallelism, cpus } from 'node:os';
import { threadsOf, worldSizeOf, type UlyssesConfig } from './config.js';
import { createCoreGateBuffer } from './core-gate.js';

export type TrainBackend = 'threads' | 'mpi';

/** Ranks of this job on this machine: mpirun says so; otherwise assume all of them. */
export function localRanks(backend: TrainBackend, world: number, env: NodeJS.ProcessEnv = process.env): number {
  if (backend === 'threads') return world;
  const local = Number(env['OMPI_COMM_WORLD_LOCAL_SIZE']);
  return Number.isInteger(local) && local > 0 ? local : world;
}

/** CPUs of the machine, and those this process may run on (fewer when mpirun binds ranks to cores). */
export interface CoreCount {
  machine: number;
  usable: number;
}

export interface Placement {
  /** Ranks sharing this machine's cores. */
  readonly ranks: number;
  /** Cores they share (train.threads, or the machine's cores for "auto"). */
  readonly cores: number;
  /** Kernel and BLAS threads of each rank. */
  readonly threads: number;
  /** Ranks computing at once; ranks when there is no gate. */
  readonly concurrent: number;
  /** Whether ranks take core tokens (concurrent < ranks). */
  readonly gated: boolean;
}

/**
 * The placement of a config's ranks. train.rank_concurrency "auto": min(ranks, cores) ranks at
 * once; a number k: k ranks at once (k = ranks is every rank at once, time-slicing when ranks >
 * cores). Threads per rank = max(1, floor(cores / k)). Under mpi: no gate, threads as threadsPerRank.
 */
export function placeRanks(
  c: UlyssesConfig, backend: TrainBackend, env: NodeJS.ProcessEnv = process.env,
  machine: CoreCount = { machine: cpus().length, usable: availableParallelism() },
): Placement {
  const ranks = localRanks(backend, worldSizeOf(c), env);
  const cores = c.train.threads === 'auto' ? (backend === 'mpi' ? machine.machine : machine.usable) : c.train.threads;
  if (backend === 'mpi' || ranks === 1) {
    const threads = backend === 'mpi' && c.train.threads === 'auto'
      ? Math.max(1, Math.min(machine.usable, Math.floor(machine.machine / ranks)))
      : Math.max(1, Math.floor(threadsOf(c) / ranks));
    return { ranks, cores, threads, concurrent: ranks, gated: false };
  }
  const k = c.train.rank_concurrency;
  const concurrent = Math.min(ranks, k === 'auto' ? Math.max(1, cores) : k);
  const threads = Math.max(1, Math.floor(cores / concurrent));
  return { ranks, cores, threads, concurrent, gated: concurrent < ranks };
}

/** One line for the run log: ranks × threads on cores, and how many compute at once. */
export function describePlacement(p: Placement): string {
  const active = p.concurrent * p.threads;
  const at = p.gated ? `, ${p.concurrent} computing at once (core tokens)` : ', all computing at once';
  const load = active > p.cores ? ` - ${active} threads on ${p.cores} cores, oversubscribed ${(active / p.cores).toFixed(1)}x` : '';
  return `placement: ${p.ranks} rank(s) x ${p.threads} thread(s) on ${p.cores} core(s)${at}${load}`;
}

/** The shared core tokens of a gated placement (threads backend), or null when every rank computes at once. */
export function coreGateFor(p: Placement): SharedArrayBuffer | null {
  return p.gated ? createCoreGateBuffer(p.concurrent) : null;
}
