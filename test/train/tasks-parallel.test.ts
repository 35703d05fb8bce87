// A generated task under sequence parallelism: training on "task:passkey" with packed samples over
// sp = 4 worker threads follows the losses and validation losses of one worker to 1e-5, since every
// rank draws the same global rows and keeps its shard of tokens, targets and document ids.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { launchTraining } from '../../src/train/parallel-run.js';
import { runTraining } from '../../src/train/run.js';
import { assertClose } from '../helpers.js';
import { tinyConfig } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-tasks-parallel-'));
after(() => rmSync(root, { recursive: true, force: true }));
const quiet = { log: (): void => {}, skipPeakMeasurement: true, quiet: true };

const set = (more: Record<string, unknown>): Record<string, unknown> => ({
  'model.type': 'llama', 'model.n_heads': 4, 'model.max_seq_len': 256, 'data.seq_len': 256, 'data.corpus': 'task:passkey',
  'data.task_min_len': 64, 'data.val_fraction': 0.01, 'data.val_every': 2, 'data.val_batches': 1,
  'train.steps': 4, 'train.out_dir': root, train_micro_batch_size_per_gpu: 2, ...more,
});

test('task:passkey with packed samples: sp = 4 on threads = one worker', { timeout: 60_000 }, async () => {
  const one = runTraining(tinyConfig(set({ 'train.run_name': 'one' })), null, quiet);
  const par = await launchTraining(tinyConfig(set({ 'train.run_name': 'par', sequence_parallel_size: 4, 'train.backend': 'threads' })), null, quiet);
  assertClose(par.result.steps.map((m) => m.loss), one.result.steps.map((m) => m.loss), 1e-5, 'training losses');
  const vals = (r: typeof one): number[] => r.result.steps.flatMap((m) => (m.val_loss === undefined ? [] : [m.val_loss]));
  assertClose(vals(par), vals(one), 1e-5, 'validation losses');
});
