// The program megatron-training-mpi.test.ts runs under mpirun: every rank trains each case of
// argv[2] in turn with test/parallel/megatron-train-worker.ts through runSpmd on the mpi backend
// and writes its result to <out>/<case>-rank<r>.json (fp32 arrays as base64, bit-exact).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeGrid } from '../../src/dist/grid.js';
import { runSpmd } from '../../src/dist/spmd.js';
import type { TrainRankResult } from '../parallel/train-worker.js';
import type { EncodedResult, TrainProgram } from './train-program.js';

function encode(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

const program = JSON.parse(process.argv[2] ?? '{"cases":[],"out":"."}') as TrainProgram;
for (const [i, k] of program.cases.entries()) {
  const options = { backend: 'mpi', grid: makeGrid({ dp: k.dp, sp: k.sp }), timeoutMs: 20_000, finalize: i === program.cases.length - 1 } as const;
  const [r] = await runSpmd<TrainRankResult>(options, new URL('../parallel/megatron-train-worker.js', import.meta.url), k);
  if (!r) throw new Error(`case ${i}: runSpmd returned no result`);
  const encoded: EncodedResult = { ...r, grads1: encode(r.grads1), params: encode(r.params) };
  writeFileSync(join(program.out, `${i}-rank${process.env['OMPI_COMM_WORLD_RANK'] ?? '0'}.json`), JSON.stringify(encoded));
}
