// Checkpoints outlive their layout: a run saved under one (dp, sp, ZeRO stage) resumes under
// another and continues with the losses and validation losses of a run that was never interrupted
// (relative L2 1e-5), because the checkpoint holds whole consolidated tensors and each layout
// slices its own part of them. Two chains: sp 4 ZeRO-2 -> sp 2 ZeRO-1 -> one worker, and
// dp 2 x sp 2 ZeRO-3 -> sp 3 ZeRO-2 -> dp 4 ZeRO-3.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { readMetrics, type StepMetrics } from '../../src/train/metrics.js';
import { launchTraining } from '../../src/train/parallel-run.js';
import { runTraining } from '../../src/train/run.js';
import { assertClose } from '../helpers.js';
import { tinyConfig } from '../train/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-reshard-'));
after(() => rmSync(root, { recursive: true, force: true }));
const corpus = join(root, 'corpus.txt');
writeFileSync(corpus, 'a stitch in time saves nine; many hands make light work. '.repeat(80));
const quiet = { log: (): void => {}, skipPeakMeasurement: true, quiet: true };

/** A Llama with GQA on 15-token windows, 4 windows per step in every layout (dp x micro-batch). */
const set = (more: Record<string, unknown>): Record<string, unknown> => ({
  'model.type': 'llama', 'model.n_heads': 4, 'model.n_kv_heads': 2, 'model.tie_embeddings': false,
  'data.seq_len': 15, 'data.corpus': corpus, 'data.val_fraction': 0.1, 'data.val_every': 2, 'data.val_batches': 2,
  'scheduler.params.total_num_steps': 6, 'train.steps': 6, 'train.out_dir': root, gradient_clipping: 0.5, ...more,
});

interface Leg {
  steps: number;
  dp: number;
  sp: number;
  stage: 0 | 1 | 2 | 3;
}

async function chain(name: string, legs: readonly Leg[]): Promise<StepMetrics[]> {
  for (const [i, l] of legs.entries()) {
    const config = tinyConfig(set({
      'train.run_name': name, 'train.steps': l.steps, data_parallel_size: l.dp, sequence_parallel_size: l.sp,
      train_micro_batch_size_per_gpu: 4 / l.dp, 'zero_optimization.stage': l.stage,
    }));
    const ckpt = i > 0 ? loadCheckpoint(join(root, name, 'checkpoint')) : null;
    if (ckpt) assert.equal(ckpt.state.step, (legs[i - 1] as Leg).steps, 'the checkpoint is at the previous leg\'s last step');
    await launchTraining(config, ckpt, quiet);
  }
  return readMetrics(join(root, name, 'metrics.jsonl'));
}

const losses = (ms: readonly StepMetrics[]): number[] => ms.map((m) => m.loss);
const vals = (ms: readonly StepMetrics[]): number[] => ms.flatMap((m) => (m.val_loss === undefined ? [] : [m.val_loss]));

test('a checkpoint resumes under any dp x sp and ZeRO stage with the losses of an uninterrupted run', { timeout: 120_000 }, async () => {
  const one = runTraining(tinyConfig(set({ 'train.run_name': 'one', train_micro_batch_size_per_gpu: 4 })), null, quiet).result.steps;
  const chains = {
    'sp 4 ZeRO-2 -> sp 2 ZeRO-1 -> one worker': await chain('a', [
      { steps: 2, dp: 1, sp: 4, stage: 2 }, { steps: 4, dp: 1, sp: 2, stage: 1 }, { steps: 6, dp: 1, sp: 1, stage: 0 },
    ]),
    'dp 2 x sp 2 ZeRO-3 -> sp 3 ZeRO-2 -> dp 4 ZeRO-3': await chain('b', [
      { steps: 2, dp: 2, sp: 2, stage: 3 }, { steps: 4, dp: 1, sp: 3, stage: 2 }, { steps: 6, dp: 4, sp: 1, stage: 3 },
    ]),
  };
  for (const [label, got] of Object.entries(chains)) {
    assert.deepEqual(got.map((m) => m.step), [1, 2, 3, 4, 5, 6], `${label}: one metrics line per step`);
    assertClose(losses(got), losses(one), 1e-5, `${label}: training losses`);
    assert.equal(vals(got).length, 3);
    assertClose(vals(got), vals(one), 1e-5, `${label}: validation losses`);
    for (const m of got) assert.equal(typeof m.mem_optimizer, 'number', `${label}: step ${m.step} reports its memory`);
  }
  // The consolidated checkpoint does not depend on the layout: the same tensor names and shapes as one worker's.
  const a = loadCheckpoint(join(root, 'b', 'checkpoint'));
  const b = loadCheckpoint(join(root, 'one', 'checkpoint'));
  assert.deepEqual([...a.optimizer.keys()].sort(), [...b.optimizer.keys()].sort());
  for (const [name, t] of a.model) assert.deepEqual(t.shape, b.model.get(name)?.shape, name);
  const state = JSON.parse(readFileSync(join(root, 'b', 'checkpoint', 'trainer_state.json'), 'utf8')) as { step: number };
  assert.equal(state.step, 6);
});
