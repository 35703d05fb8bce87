// Ring-attention and hybrid training on the MPI backend equal one-worker training, with the same
// checks as the threads backend (test/parallel/ring-equivalence.ts): under mpirun -np 4, a ring
// of 4 with GQA and a 2 x 2 hybrid group; loss and every gradient after one step and the
// parameters after a few AdamW steps within relative L2 1e-5, attention bytes equal to the formulas.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { canRun, describeRun, run } from '../dist-mpi/mpirun.js';
import { assertRingEqualsOneWorker } from '../parallel/ring-equivalence.js';
import type { RingTrainCase } from '../parallel/ring-train-worker.js';
import type { TrainRankResult } from '../parallel/train-worker.js';
import type { RingTrainProgram } from './ring-train-program.js';
import type { EncodedResult } from './train-program.js';

const PROGRAM = new URL('./ring-train-program.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'ulysses-ring-mpi-'));
after(() => rmSync(root, { recursive: true, force: true }));

const base = { B: 2, dp: 1, accum: 1, docs: false, kernels: 'native', steps: 3, sp: 4 } as const;
const cases: RingTrainCase[] = [
  { ...base, label: 'ring Llama H=4 Hkv=2 N=16 P=4', arch: 'llama', dModel: 32, heads: 4, kvHeads: 2, N: 16, mode: 'ring', ringSize: 'auto' },
  { ...base, label: 'hybrid 2x2 GPT H=2 N=12 (P > heads)', arch: 'gpt', dModel: 16, heads: 2, kvHeads: 2, N: 12, mode: 'hybrid', ringSize: 2 },
];

function decode(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function readRank(dir: string, i: number, rank: number): TrainRankResult {
  const e = JSON.parse(readFileSync(join(dir, `${i}-rank${rank}.json`), 'utf8')) as EncodedResult;
  return { ...e, grads1: decode(e.grads1), params: decode(e.params) };
}

test('mpi: ring and hybrid training equal one worker, mpirun -np 4', { timeout: 90_000 }, async (t) => {
  if (!canRun(t)) return;
  const out = mkdtempSync(join(root, 'np4-'));
  const program: RingTrainProgram = { cases, out };
  const r = await run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', '4', process.execPath, PROGRAM, JSON.stringify(program)], 60_000);
  assert.equal(r.timedOut, false, `the job timed out${describeRun(r)}`);
  assert.equal(r.status, 0, `the job failed${describeRun(r)}`);
  for (const [i, k] of cases.entries()) {
    await t.test(k.label, () => {
      assertRingEqualsOneWorker(k, Array.from({ length: 4 }, (_, rank) => readRank(out, i, rank)));
    });
  }
});
