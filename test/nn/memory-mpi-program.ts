// The program memory-toolkit-mpi.test.ts runs under mpirun: every rank trains each memory toolkit
// case with memory-sp-worker.ts through runSpmd on the mpi backend and writes its result to
// <out>/<case>-rank<r>.json, as test/parallel-mpi/train-program.ts does for the plain cases.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeGrid } from '../../src/dist/grid.js';
import { runSpmd } from '../../src/dist/spmd.js';
import type { EncodedResult } from '../parallel-mpi/train-program.js';
import type { TrainRankResult } from '../parallel/train-worker.js';
import type { MemoryCase } from './memory-sp-worker.js';

const program = JSON.parse(process.argv[2] ?? '{"cases":[],"out":"."}') as { cases: MemoryCase[]; out: string };
const encode = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
for (const [i, k] of program.cases.entries()) {
  const options = { backend: 'mpi', grid: makeGrid({ dp: k.dp, sp: k.sp }), timeoutMs: 20_000, finalize: i === program.cases.length - 1 } as const;
  const [r] = await runSpmd<TrainRankResult>(options, new URL('./memory-sp-worker.js', import.meta.url), k);
  if (!r) throw new Error(`case ${i}: runSpmd returned no result`);
  const encoded: EncodedResult = { ...r, grads1: encode(r.grads1), params: encode(r.params) };
  writeFileSync(join(program.out, `${i}-rank${process.env['OMPI_COMM_WORLD_RANK'] ?? '0'}.json`), JSON.stringify(encoded));
}
