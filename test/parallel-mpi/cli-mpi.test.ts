// `ulysses train --backend mpi` under mpirun end to end: two processes train one run that equals
// one worker, only rank 0 prints and writes metrics and a checkpoint, and the run resumes under
// mpirun. A job that cannot work stops with a nonzero status and a message, never a hang: the wrong
// process count, a corpus only rank 1 cannot read, and a rank started with another config.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildConfig } from '../../src/train/config.js';
import { readMetrics } from '../../src/train/metrics.js';
import { runTraining } from '../../src/train/run.js';
import { assertAborted, canRun, describeRun, run, type Run } from '../dist-mpi/mpirun.js';
import { assertClose } from '../helpers.js';

const MAIN = new URL('../../src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ulysses-cli-mpi-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const corpus = join(dir, 'corpus.txt');
writeFileSync(corpus, 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(40));
const runs = join(dir, 'runs');

const TINY = [
  '--set', 'model.d_model=16', '--set', 'model.n_layers=1', '--set', 'model.n_heads=2', '--set', 'model.max_seq_len=32',
  '--seq-len', '32', '--batch-size', '2', '--kernels', 'native', '--set', 'data.val_fraction=0.1', '--val-every', '2',
  '--set', 'scheduler.params.total_num_steps=5', '--corpus', corpus, '--out-dir', runs,
];
const MPIRUN = ['--allow-run-as-root', '--oversubscribe'];

/** mpirun -np n of `ulysses train args`; several apps (MPMD) give ranks different command lines. */
function mpirunTrain(...apps: { np: number; args: string[] }[]): Promise<Run> {
  const argv = apps.flatMap((a, i) => [...(i > 0 ? [':'] : []), '-np', String(a.np), process.execPath, MAIN, 'train', ...a.args]);
  return run('mpirun', [...MPIRUN, ...argv]);
}

test('mpi: mpirun -np 2 ulysses train --backend mpi --sp 2 trains one run, written by rank 0', { timeout: 90_000 }, async (t) => {
  if (!canRun(t)) return;
  const r = await mpirunTrain({ np: 2, args: ['--backend', 'mpi', '--sp', '2', '--steps', '3', '--name', 'mpi', ...TINY] });
  assert.equal(r.timedOut, false, `the job timed out${describeRun(r)}`);
  assert.equal(r.status, 0, `the job failed${describeRun(r)}`);
  assert.equal(r.stdout.match(/^run /gm)?.length, 1, `only rank 0 prints the header${describeRun(r)}`);
  assert.match(r.stdout, /2 ranks \(sequence_parallel_size 2 x data_parallel_size 1\)/);
  assert.match(r.stdout, /^ranks: 2 MPI processes \(2 on this machine\), \d+ kernel\/BLAS thread\(s\) each/m);
  assert.match(r.stdout, /^peak: 1024\^3 sgemm with native kernels, 2 ranks x \d+ threads at once: [\d.]+ GFLOP\/s in all/m);
  assert.match(r.stdout, /^step 3\/3 \| loss [\d.]+ .*\| mfu [\d.]+% .*\| comm \d+ ms [\d.]+ MB \(a2a [\d.]+, allreduce [\d.]+\) \| val_loss/m);
  const folder = join(runs, 'mpi');
  // Rank 0's process alone writes train.log: its launcher's header lines, then its rank's progress lines.
  const trainLog = (): string => readFileSync(join(folder, 'train.log'), 'utf8');
  assert.equal(trainLog(), r.stdout, `train.log holds what the job printed${describeRun(r)}`);
  const metrics = readMetrics(join(folder, 'metrics.jsonl'));
  assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3], 'one metrics line per step (rank 0 alone writes)');
  for (const m of metrics) assert.ok((m.comm_a2a_bytes_sent ?? 0) > 0 && typeof m.mfu === 'number', JSON.stringify(m));
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'manifest.json']) {
    assert.ok(existsSync(join(folder, 'checkpoint', f)), f);
  }

  // One worker in this process on the same config follows the same losses.
  const saved: unknown = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  const set = (path: string, value: unknown): { kind: 'set'; path: string; value: unknown; source: string } => ({ kind: 'set', path, value, source: 'test' });
  const one = runTraining(buildConfig([
    { kind: 'json', value: saved, source: 'config.json' }, set('sequence_parallel_size', 1), set('train.backend', 'threads'), set('train.run_name', 'one'),
  ]), null, { log: () => {}, skipPeakMeasurement: true });
  assertClose(metrics.map((m) => m.loss), one.result.steps.map((m) => m.loss), 1e-5, 'losses, mpi sp 2 vs one worker');
  assertClose([metrics[1]?.val_loss ?? NaN], [one.result.steps[1]?.val_loss ?? NaN], 1e-5, 'validation loss at step 2');

  const resumed = await mpirunTrain({ np: 2, args: ['--resume', join(folder, 'checkpoint'), '--steps', '5'] });
  assert.equal(resumed.status, 0, `the resumed job failed${describeRun(resumed)}`);
  assert.match(resumed.stdout, /resuming from .* at step 3/);
  assert.equal(trainLog(), r.stdout + resumed.stdout, 'the resumed job appends to train.log');
  assert.deepEqual(readMetrics(join(folder, 'metrics.jsonl')).map((m) => m.step), [1, 2, 3, 4, 5]);
});

test('mpi: a job with the wrong process count is refused by every rank with the mpirun -np to use', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const r = await mpirunTrain({ np: 3, args: ['--backend', 'mpi', '--sp', '2', '--steps', '1', '--name', 'np3', ...TINY] });
  assertAborted(r);
  assert.match(r.stderr, /^ulysses: rank \d: sequence_parallel_size \(2\) x data_parallel_size \(1\) = 2 ranks, but mpirun started 3 processes; launch with mpirun -np 2/m, describeRun(r));
});

test('mpi: a corpus that rank 1 cannot read stops the job with its message', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const common = ['--sp', '2', '--steps', '2', '--name', 'missing', ...TINY];
  const r = await mpirunTrain({ np: 1, args: common }, { np: 1, args: [...common, '--corpus', join(dir, 'missing.txt')] });
  assertAborted(r);
  assert.match(r.stderr, /^ulysses: rank 1: data\.corpus: .*missing\.txt does not exist/m, describeRun(r));
  assert.equal(existsSync(join(runs, 'missing', 'metrics.jsonl')), false, 'no step ran');
});

test('mpi: a rank started with another config stops every rank, naming the key', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const common = ['--backend', 'mpi', '--sp', '2', '--steps', '2', '--name', 'differ', ...TINY];
  const r = await mpirunTrain({ np: 1, args: common }, { np: 1, args: [...common, '--seq-len', '30'] });
  assertAborted(r);
  assert.match(
    r.stderr,
    /^rank 1 failed: ConfigError: rank 1 was started with another config than rank 0: data\.seq_len is 30 here and 32 on rank 0; give every process/m,
    describeRun(r),
  );
  assert.equal(existsSync(join(runs, 'differ', 'metrics.jsonl')), false, 'no step ran');
});
