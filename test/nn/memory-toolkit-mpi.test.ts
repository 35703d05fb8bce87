// The sequence-parallel memory toolkit cases of memory-toolkit-sp.test.ts on the MPI backend:
// under mpirun -np 2, checkpointing (with tiling, and under ZeRO-3) equals one plain worker.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { canRun, describeRun, run } from '../dist-mpi/mpirun.js';
import type { EncodedResult } from '../parallel-mpi/train-program.js';
import type { TrainRankResult } from '../parallel/train-worker.js';
import { assertMemoryCaseEqualsOneWorker, MEMORY_SP_CASES } from './memory-sp-check.js';

const PROGRAM = new URL('./memory-mpi-program.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'ulysses-memory-mpi-'));
after(() => rmSync(root, { recursive: true, force: true }));

function decode(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

test('mpi: sp = 2 with the memory toolkit equals one plain worker, mpirun -np 2', { timeout: 120_000 }, async (t) => {
  if (!canRun(t)) return;
  const out = mkdtempSync(join(root, 'np2-'));
  const r = await run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', '2', process.execPath, PROGRAM,
    JSON.stringify({ cases: MEMORY_SP_CASES, out })], 90_000);
  assert.equal(r.timedOut, false, `the job timed out${describeRun(r)}`);
  assert.equal(r.status, 0, `the job failed${describeRun(r)}`);
  for (const [i, k] of MEMORY_SP_CASES.entries()) {
    await t.test(k.label, () => {
      const ranks = [0, 1].map((rank): TrainRankResult => {
        const e = JSON.parse(readFileSync(join(out, `${i}-rank${rank}.json`), 'utf8')) as EncodedResult;
        return { ...e, grads1: decode(e.grads1), params: decode(e.params) };
      });
      assertMemoryCaseEqualsOneWorker(k, ranks);
    });
  }
});
