// Rank 1 throws while the others wait in a barrier: the harness's mpiAbort must end the whole job
// with a nonzero status instead of leaving the other ranks hanging.
import { runRanks } from './harness.js';

await runRanks('abort', ({ mpi, rank }) => {
  mpi.mpiBarrier();
  if (rank === 1) throw new Error('deliberate failure on rank 1');
  mpi.mpiBarrier();
});
