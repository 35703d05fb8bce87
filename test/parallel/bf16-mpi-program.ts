// The program bf16-attention-mpi.test.ts runs under mpirun: every rank runs bf16-attention-worker.ts
// through runSpmd on the mpi backend and writes its results to <out>/rank<r>.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeGrid } from '../../src/dist/grid.js';
import { runSpmd } from '../../src/dist/spmd.js';
import type { Bf16Case, Bf16Result } from './bf16-attention-worker.js';

export interface Bf16Program {
  readonly P: number;
  readonly cases: readonly Bf16Case[];
  /** Folder the ranks write their results into. */
  readonly out: string;
}

const program = JSON.parse(process.argv[2] ?? '{"P":1,"cases":[],"out":"."}') as Bf16Program;
const options = { backend: 'mpi', grid: makeGrid({ dp: 1, sp: program.P }), timeoutMs: 20_000, finalize: true } as const;
const [r] = await runSpmd<Bf16Result[]>(options, new URL('./bf16-attention-worker.js', import.meta.url), { cases: program.cases });
if (!r) throw new Error('runSpmd returned no result');
writeFileSync(join(program.out, `rank${process.env['OMPI_COMM_WORLD_RANK'] ?? '0'}.json`), JSON.stringify(r));
