// launchTraining end to end on worker threads: an sp × dp run on a text corpus follows the losses
// and validation losses of one worker, writes metrics with its communication figures and a
// checkpoint from rank 0 only, and resumes from that checkpoint with the same losses as a run
// that was never interrupted.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { ConfigError } from '../../src/train/errors.js';
import { readMetrics, type StepMetrics } from '../../src/train/metrics.js';
import { launchTraining } from '../../src/train/parallel-run.js';
import { runTraining } from '../../src/train/run.js';
import { assertClose } from '../helpers.js';
import { tinyConfig } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-parallel-run-'));
after(() => rmSync(root, { recursive: true, force: true }));
const corpus = join(root, 'corpus.txt');
writeFileSync(corpus, 'a stitch in time saves nine; many hands make light work. '.repeat(80));
const quiet = { log: (): void => {}, skipPeakMeasurement: true, quiet: true };

/** A Llama with GQA on 15-token windows: 3 sequence-parallel ranks split tokens 5/5/5 and heads 2/1/1. */
const set = (more: Record<string, unknown>): Record<string, unknown> => ({
  'model.type': 'llama', 'model.n_heads': 4, 'model.n_kv_heads': 2, 'model.tie_embeddings': false,
  'data.seq_len': 15, 'data.corpus': corpus, 'data.val_fraction': 0.1, 'data.val_every': 2, 'data.val_batches': 2,
  'scheduler.params.total_num_steps': 6, 'train.steps': 6, 'train.out_dir': root, ...more,
});

function losses(steps: StepMetrics[]): number[] {
  return steps.map((m) => m.loss);
}

test('sp x dp run = one worker, and resuming it continues the same losses', { timeout: 60_000 }, async () => {
  const one = runTraining(tinyConfig(set({ 'train.run_name': 'one', train_micro_batch_size_per_gpu: 4 })), null, quiet);
  const par = await launchTraining(tinyConfig(set({
    'train.run_name': 'par', sequence_parallel_size: 3, data_parallel_size: 2, train_micro_batch_size_per_gpu: 2,
  })), null, quiet);
  assertClose(losses(par.result.steps), losses(one.result.steps), 1e-5, 'training losses');
  const vals = (r: typeof one): number[] => r.result.steps.flatMap((m) => (m.val_loss === undefined ? [] : [m.val_loss]));
  assert.equal(vals(par).length, 3);
  assertClose(vals(par), vals(one), 1e-5, 'validation losses');
  const metrics = readMetrics(join(par.runDir, 'metrics.jsonl'));
  assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3, 4, 5, 6]);
  for (const m of metrics) {
    assert.ok((m.comm_a2a_bytes_sent ?? 0) > 0 && (m.comm_bytes_sent ?? 0) > (m.comm_a2a_bytes_sent ?? 0), JSON.stringify(m));
  }
  assert.deepEqual(readdirSync(par.runDir).sort(), ['checkpoint', 'config.json', 'metrics.jsonl', 'train.log']);

  const partDir = mkdtempSync(join(root, 'part'));
  const cfg = (steps: number): Record<string, unknown> => set({
    'train.out_dir': partDir, 'train.run_name': 'p', 'train.steps': steps, sequence_parallel_size: 3, data_parallel_size: 2,
    train_micro_batch_size_per_gpu: 2,
  });
  await launchTraining(tinyConfig(cfg(3)), null, quiet);
  const ckpt = loadCheckpoint(join(partDir, 'p', 'checkpoint'));
  const resumed = await launchTraining(tinyConfig(cfg(6)), ckpt, quiet);
  assert.deepEqual(losses(resumed.result.steps), losses(par.result.steps).slice(3), 'resumed losses equal the uninterrupted run');
  assert.ok(existsSync(join(partDir, 'p', 'checkpoint', 'model.safetensors')));
});

test('runTraining is one worker; launchTraining refuses before starting ranks', async () => {
  assert.throws(() => runTraining(tinyConfig(set({ sequence_parallel_size: 2 })), null, quiet), /needs launchTraining/);
  await assert.rejects(launchTraining(tinyConfig(set({ sequence_parallel_size: 2, 'data.corpus': join(root, 'missing.txt') })), null, quiet),
    /data\.corpus: .*missing\.txt does not exist/);
  assert.throws(() => tinyConfig(set({ sequence_parallel_size: 5 })), (e: unknown) => e instanceof ConfigError && /exceeds model\.n_heads \(4\)/.test(e.message));
});
