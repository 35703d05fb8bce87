// Starting the MPI backend in a process of an mpirun job (or alone, as a world of one): initialise
// MPI, build the communicator and create the communicators of every group the program will use.
import type { RankGrid } from '../grid.js';
import { loadMpiBinding } from '../../kernels/native/mpi-binding.js';
import { gridGroupLists, type GroupLists } from './comm-registry.js';
import { MpiCommunicator } from './mpi-communicator.js';
import type { MpiOptions } from './mpi-options.js';

/** A value, or a function of the world size giving it (the size is known only once MPI starts). */
export type PerWorld<T> = T | ((worldSize: number) => T);

export interface MpiCommunicatorOptions extends MpiOptions {
  /** Create a communicator for every group of this grid (its world must be the MPI world). */
  readonly grid?: PerWorld<RankGrid>;
  /** Member lists (in group order) of further groups to create communicators for. */
  readonly groups?: PerWorld<GroupLists>;
}

function resolve<T>(v: PerWorld<T> | undefined, world: number): T | undefined {
  return typeof v === 'function' ? (v as (w: number) => T)(world) : v;
}

/**
 * Initialises MPI (idempotent) and returns this process's communicator with the communicators of
 * the grid's groups and `groups` created. Collective: every rank of the job calls it with the same
 * options. Throws, saying what to install, when the addon was built without Open MPI.
 */
export function mpiCommunicator(options: MpiCommunicatorOptions = {}): MpiCommunicator {
  const mpi = loadMpiBinding();
  const { rank, size } = mpi.mpiInit();
  const comm = new MpiCommunicator(mpi, rank, size, options);
  const grid = resolve(options.grid, size);
  if (grid) {
    if (grid.world !== size) {
      throw new RangeError(`mpiCommunicator: the grid has ${grid.world} ranks (dp ${grid.dp} x sp ${grid.sp} x tp ${grid.tp}) but the MPI job has ${size}`);
    }
    comm.addGroups(gridGroupLists(grid));
  }
  const groups = resolve(options.groups, size);
  if (groups) comm.addGroups(groups);
  return comm;
}
