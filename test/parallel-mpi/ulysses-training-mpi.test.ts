// Sequence-parallel training on the MPI backend equals one-worker training, with the same checks
// as the threads backend (test/parallel/equivalence.ts): for GPT and Llama under mpirun -np P,
// P in {2, 3, 4}, odd and uneven head counts, GQA with fewer kv heads than ranks, sequence lengths P
// does not divide, document masks and B = 2, the loss and every gradient after one step and the
// parameters after ten AdamW steps agree with one worker within relative L2 1e-5; dp = 2 × sp = 2
// too. One mpirun job per P runs all of its cases in turn.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { canRun, describeRun, run } from '../dist-mpi/mpirun.js';
import { assertEqualsOneWorker } from '../parallel/equivalence.js';
import type { ParallelCase } from '../parallel/fixtures.js';
import type { TrainRankResult } from '../parallel/train-worker.js';
import type { EncodedResult, TrainProgram } from './train-program.js';

const PROGRAM = new URL('./train-program.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'ulysses-train-mpi-'));
after(() => rmSync(root, { recursive: true, force: true }));

const base = { B: 2, dp: 1, accum: 1, docs: true, kernels: 'native', steps: 10 } as const;
const jobs: { np: number; cases: ParallelCase[] }[] = [
  {
    np: 2,
    cases: [
      { ...base, label: 'GPT H=6 N=13 P=2', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 2 },
      { ...base, label: 'Llama H=3 Hkv=1 N=13 P=2 (odd heads, one kv head)', arch: 'llama', dModel: 36, heads: 3, kvHeads: 1, N: 13, sp: 2 },
    ],
  },
  {
    np: 3,
    cases: [
      { ...base, label: 'GPT H=5 N=13 P=3 (odd heads 2/2/1)', arch: 'gpt', dModel: 40, heads: 5, kvHeads: 5, N: 13, sp: 3 },
      { ...base, label: 'Llama H=6 Hkv=2 N=13 P=3 (kv shared by ranks)', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 13, sp: 3 },
      { ...base, label: 'Llama H=8 Hkv=2 N=11 P=3 (kv expanded on a rank)', arch: 'llama', dModel: 32, heads: 8, kvHeads: 2, N: 11, sp: 3 },
    ],
  },
  {
    np: 4,
    cases: [
      { ...base, label: 'GPT H=6 N=13 P=4 (uneven heads)', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 4 },
      { ...base, label: 'Llama H=6 Hkv=2 N=15 P=4', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 15, sp: 4 },
      { ...base, label: 'Llama H=4 Hkv=2 N=12 P=4', arch: 'llama', dModel: 32, heads: 4, kvHeads: 2, N: 12, sp: 4 },
      { ...base, label: 'GPT dp=2 x sp=2, 2 micro-batches', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 2, dp: 2, accum: 2, steps: 5 },
    ],
  },
];

function decode(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function readRank(dir: string, i: number, rank: number): TrainRankResult {
  const e = JSON.parse(readFileSync(join(dir, `${i}-rank${rank}.json`), 'utf8')) as EncodedResult;
  return { ...e, grads1: decode(e.grads1), params: decode(e.params) };
}

for (const { np, cases } of jobs) {
  test(`mpi: sequence-parallel training equals one worker, mpirun -np ${np}`, { timeout: 90_000 }, async (t) => {
    if (!canRun(t)) return;
    const out = mkdtempSync(join(root, `np${np}-`));
    const program: TrainProgram = { cases, out };
    const r = await run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), process.execPath, PROGRAM, JSON.stringify(program)], 60_000);
    assert.equal(r.timedOut, false, `the job timed out${describeRun(r)}`);
    assert.equal(r.status, 0, `the job failed${describeRun(r)}`);
    for (const [i, k] of cases.entries()) {
      await t.test(k.label, () => {
        assertEqualsOneWorker(k, Array.from({ length: np }, (_, rank) => readRank(out, i, rank)));
      });
    }
  });
}
