// Public surface of the distributed runtime: the Communicator contract, groups and the rank grid,
// accounting, errors, the worker-thread and Open MPI backends, and runSpmd over either.
export type {
  ChunkCounts, CollectiveName, CommHandle, Communicator, Payload, ReduceOp,
} from './communicator.js';
export { allocPayload } from './communicator.js';
export { describeGroup, makeGroup } from './group.js';
export type { Group } from './group.js';
export {
  DP_CONTIGUOUS, SP_CONTIGUOUS, allGroups, gridCoords, gridRank, groupRanks, makeGrid, rankGroups,
} from './grid.js';
export type { GridAxis, GridCoords, GridOptions, GridSizes, GroupKind, RankGrid, RankGroups } from './grid.js';
export { CommStats, commBytes } from './accounting.js';
export type { ByteCount, CommCounter, CommSnapshot } from './accounting.js';
export { evenCounts } from './collective-args.js';
export { CommAbortedError, CommError, CommMismatchError, CommTimeoutError } from './errors.js';
export { RankFailedError, launchThreads, singleRankCommunicator } from './threads/launcher.js';
export type { LaunchOptions, RankMain } from './threads/launcher.js';
export type { ThreadsOptions } from './threads/threads-communicator.js';
export { MpiCommunicator } from './mpi/mpi-communicator.js';
export { mpiCommunicator } from './mpi/setup.js';
export type { MpiCommunicatorOptions, PerWorld } from './mpi/setup.js';
export { DEFAULT_MPI_OPTIONS } from './mpi/mpi-options.js';
export type { MpiOptions } from './mpi/mpi-options.js';
export { gridGroupLists } from './mpi/comm-registry.js';
export type { GroupLists } from './mpi/comm-registry.js';
export { detectMpiLaunch, runSpmd } from './spmd.js';
export type { SpmdBackend, SpmdOptions } from './spmd.js';
