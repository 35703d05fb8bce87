// Megatron-SP training on the MPI backend equals one-worker training, with the checks of the
// threads backend (test/parallel/megatron-equivalence.ts): GPT under mpirun -np 3 with P = 3 and
// an uneven token split; under -np 4 GPT with dp = 2 × P = 2 and two micro-batches, and Llama with
// GQA at P = 4, plain and with checkpointing and both tilings, and GPT dp = 2 × P = 2 under ZeRO
// stage 1.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { canRun, describeRun, run } from '../dist-mpi/mpirun.js';
import { PLAIN_MEMORY } from '../../src/nn/memory-options.js';
import type { ParallelCase } from '../parallel/fixtures.js';
import { assertMegatronEqualsOneWorker, type MegatronCase } from '../parallel/megatron-equivalence.js';
import type { TrainRankResult } from '../parallel/train-worker.js';
import type { EncodedResult, TrainProgram } from './train-program.js';

const PROGRAM = new URL('./megatron-train-program.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'ulysses-megatron-mpi-'));
after(() => rmSync(root, { recursive: true, force: true }));

const base: Omit<ParallelCase, 'label' | 'N' | 'sp'> = { arch: 'gpt', dModel: 24, heads: 12, kvHeads: 12, B: 2, dp: 1, accum: 1, docs: true, kernels: 'native', steps: 5 };
const jobs: { np: number; cases: MegatronCase[] }[] = [
  { np: 3, cases: [{ ...base, label: 'GPT P=3 N=13 (uneven tokens)', N: 13, sp: 3 }] },
  {
    np: 4,
    cases: [
      { ...base, label: 'GPT dp=2 x P=2, 2 micro-batches', N: 13, sp: 2, dp: 2, accum: 2, steps: 4 },
      { ...base, label: 'Llama H=8 Hkv=4 P=4 N=14', arch: 'llama', dModel: 32, heads: 8, kvHeads: 4, N: 14, sp: 4 },
      {
        ...base, label: 'Llama H=8 Hkv=4 P=4 N=14, checkpointing + tiled MLP and logits', arch: 'llama', dModel: 32, heads: 8, kvHeads: 4,
        N: 14, sp: 4, steps: 3, memory: { ...PLAIN_MEMORY, checkpoint: true, mlpTile: 6, logitsTile: 3 },
      },
      { ...base, label: 'GPT dp=2 x P=2, ZeRO-1', N: 13, sp: 2, dp: 2, steps: 3, zeroStage: 1 },
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
  test(`mpi: Megatron-SP training equals one worker, mpirun -np ${np}`, { timeout: 90_000 }, async (t) => {
    if (!canRun(t)) return;
    const out = mkdtempSync(join(root, `np${np}-`));
    const program: TrainProgram = { cases, out };
    const r = await run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(np), process.execPath, PROGRAM, JSON.stringify(program)], 60_000);
    assert.equal(r.timedOut, false, `the job timed out${describeRun(r)}`);
    assert.equal(r.status, 0, `the job failed${describeRun(r)}`);
    for (const [i, k] of cases.entries()) {
      await t.test(k.label, () => {
        assertMegatronEqualsOneWorker(k, Array.from({ length: np }, (_, rank) => readRank(out, i, rank)));
      });
    }
  });
}
