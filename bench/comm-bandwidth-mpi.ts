// One rank of the MPI side of the communication-bandwidth benchmark:
//   mpirun -np P node dist/bench/comm-bandwidth-mpi.js '<BwArgs as JSON>' <out-dir>
// runs comm-bandwidth-rank.js through runSpmd on the MPI backend and writes this rank's result to
// <out-dir>/rank-<r>.json (a file, because mpirun interleaves long stdout lines of many ranks).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSpmd } from '../src/dist/spmd.js';
import type { BwArgs, BwRankResult } from './comm-bandwidth-rank.js';

const args = JSON.parse(process.argv[2] ?? '{}') as BwArgs;
const outDir = process.argv[3] ?? '.';
// Large payloads on oversubscribed cores can take seconds per call; a minute is a hang, not slowness.
const [result] = await runSpmd<BwRankResult>(
  { backend: 'mpi', timeoutMs: 120_000 }, new URL('./comm-bandwidth-rank.js', import.meta.url), args,
);
if (result) writeFileSync(join(outDir, `rank-${result.rank}.json`), JSON.stringify(result));
