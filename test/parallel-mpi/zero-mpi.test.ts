// ZeRO on the MPI backend: a smaller set of the threads checks (test/zero/zero-training.test.ts)
// under mpirun -np 4, every rank its own process: ZeRO stages 1, 2 and 3 at dp 2 x sp 2 (with two
// micro-batches) and at sp 4 equal stage 0 on one worker within relative L2 1e-5 (loss, reduced
// gradient after one step, parameters after ten AdamW steps). Then `ulysses train` under mpirun
// saves a ZeRO-3 checkpoint at sp 2 and resumes it at dp 2 ZeRO-2, following one worker's losses.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildConfig } from '../../src/train/config.js';
import { readMetrics } from '../../src/train/metrics.js';
import { runTraining } from '../../src/train/run.js';
import { canRun, describeRun, run } from '../dist-mpi/mpirun.js';
import { assertClose } from '../helpers.js';
import { assertEqualsOneWorker } from '../parallel/equivalence.js';
import type { ParallelCase } from '../parallel/fixtures.js';
import type { TrainRankResult } from '../parallel/train-worker.js';
import type { EncodedResult, TrainProgram } from './train-program.js';

const PROGRAM = new URL('./train-program.js', import.meta.url).pathname;
const MAIN = new URL('../../src/cli/main.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'ulysses-zero-mpi-'));
after(() => rmSync(root, { recursive: true, force: true }));
const MPIRUN = ['--allow-run-as-root', '--oversubscribe'];

const base = { B: 2, docs: true, kernels: 'native', steps: 10 } as const;
const gpt = { arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13 } as const;
const llama = { arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 14 } as const;
const cases: ParallelCase[] = [
  { ...base, ...gpt, label: 'GPT ZeRO-1 dp=2 x sp=2, 2 micro-batches', dp: 2, sp: 2, accum: 2, zeroStage: 1 },
  { ...base, ...llama, label: 'Llama ZeRO-2 dp=1 x sp=4', dp: 1, sp: 4, accum: 1, zeroStage: 2 },
  { ...base, ...gpt, label: 'GPT ZeRO-3 dp=2 x sp=2, 2 micro-batches', dp: 2, sp: 2, accum: 2, zeroStage: 3 },
  { ...base, ...llama, label: 'Llama ZeRO-3 dp=1 x sp=4', dp: 1, sp: 4, accum: 1, zeroStage: 3 },
];

function decode(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

test('mpi: ZeRO stages 1-3 equal stage 0 on one worker, mpirun -np 4', { timeout: 90_000 }, async (t) => {
  if (!canRun(t)) return;
  const out = mkdtempSync(join(root, 'np4-'));
  const program: TrainProgram = { cases, out };
  const r = await run('mpirun', [...MPIRUN, '-np', '4', process.execPath, PROGRAM, JSON.stringify(program)], 60_000);
  assert.equal(r.timedOut, false, `the job timed out${describeRun(r)}`);
  assert.equal(r.status, 0, `the job failed${describeRun(r)}`);
  for (const [i, k] of cases.entries()) {
    await t.test(k.label, () => {
      const ranks = Array.from({ length: 4 }, (_, rank): TrainRankResult => {
        const e = JSON.parse(readFileSync(join(out, `${i}-rank${rank}.json`), 'utf8')) as EncodedResult;
        return { ...e, grads1: decode(e.grads1), params: decode(e.params) };
      });
      assertEqualsOneWorker(k, ranks);
    });
  }
});

test('mpi: a ZeRO-3 checkpoint saved at sp 2 resumes at dp 2 ZeRO-2 with one worker\'s losses', { timeout: 90_000 }, async (t) => {
  if (!canRun(t)) return;
  const corpus = join(root, 'corpus.txt');
  writeFileSync(corpus, 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(40));
  const tiny = [
    '--set', 'model.d_model=16', '--set', 'model.n_layers=2', '--set', 'model.n_heads=2', '--set', 'model.max_seq_len=32',
    '--seq-len', '32', '--kernels', 'native', '--set', 'data.val_fraction=0', '--set', 'scheduler.params.total_num_steps=5',
    '--corpus', corpus, '--out-dir', join(root, 'runs'),
  ];
  const mpi = (args: string[]): Promise<ReturnType<typeof run> extends Promise<infer R> ? R : never> =>
    run('mpirun', [...MPIRUN, '-np', '2', process.execPath, MAIN, 'train', '--backend', 'mpi', ...args], 60_000);
  const first = await mpi(['--sp', '2', '--batch-size', '2', '--set', 'zero_optimization.stage=3', '--steps', '3', '--name', 'z', ...tiny]);
  assert.equal(first.status, 0, `the ZeRO-3 job failed${describeRun(first)}`);
  assert.match(first.stdout, /^zero_optimization\.stage 3 over the dp x sp group of 2 ranks/m);
  const ckpt = join(root, 'runs', 'z', 'checkpoint');
  const second = await mpi(['--resume', ckpt, '--sp', '1', '--dp', '2', '--batch-size', '1', '--set', 'zero_optimization.stage=2', '--steps', '5']);
  assert.equal(second.status, 0, `the resumed ZeRO-2 job failed${describeRun(second)}`);
  assert.match(second.stdout, /resuming from .* at step 3/);
  const saved: unknown = JSON.parse(readFileSync(join(root, 'runs', 'z', 'config.json'), 'utf8'));
  const set = (path: string, value: unknown): { kind: 'set'; path: string; value: unknown; source: string } => ({ kind: 'set', path, value, source: 'test' });
  const one = runTraining(buildConfig([
    { kind: 'json', value: saved, source: 'config.json' }, set('data_parallel_size', 1), set('train_micro_batch_size_per_gpu', 2),
    set('zero_optimization.stage', 0), set('train.backend', 'threads'), set('train.run_name', 'one'),
  ]), null, { log: () => {}, skipPeakMeasurement: true });
  const got = readMetrics(join(root, 'runs', 'z', 'metrics.jsonl'));
  assert.deepEqual(got.map((m) => m.step), [1, 2, 3, 4, 5]);
  assertClose(got.map((m) => m.loss), one.result.steps.map((m) => m.loss), 1e-5, 'losses: mpi ZeRO-3 sp 2, then ZeRO-2 dp 2, vs one worker');
});
