import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TokenBatch } from '../../src/nn/causal-lm.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { NonFiniteLossError } from '../../src/train/errors.js';
import { readMetrics } from '../../src/train/metrics.js';
import { buildModel, kernelsFor, runTraining } from '../../src/train/run.js';
import { Trainer, type BatchSource } from '../../src/train/trainer.js';
import { assertClose } from '../helpers.js';
import { ArrayBatchSource, BigramLM, patternTokens, tinyConfig } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-trainer-'));
after(() => rmSync(root, { recursive: true, force: true }));
const tmp = (): string => mkdtempSync(join(root, 't'));

/** A text corpus long enough for tiny runs, written once per test file. */
const corpusDir = tmp();
const corpus = join(corpusDir, 'corpus.txt');
writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs!\n'.repeat(60));

/** Replays fixed batches, one per next(). */
class FixedSource implements BatchSource {
  private i = 0;
  constructor(private readonly batches: TokenBatch[]) {}
  next(): TokenBatch {
    const b = this.batches[this.i++ % this.batches.length];
    if (!b) throw new Error('no batches');
    return b;
  }
  getState(): number {
    return this.i;
  }
  setState(s: number): void {
    this.i = s;
  }
}

function rowsOf(batch: TokenBatch, rows: number[]): TokenBatch {
  const T = batch.T;
  const pick = (a: Int32Array): Int32Array => Int32Array.from(rows.flatMap((r) => Array.from(a.subarray(r * T, (r + 1) * T))));
  return { B: rows.length, T, tokens: pick(batch.tokens), targets: pick(batch.targets as Int32Array), positions: pick(batch.positions), docIds: null };
}

test('gradient accumulation: 2 micro-batches of B=1 equal 1 micro-batch of B=2 (real GPT)', () => {
  const kernels = kernelsFor('native', 1);
  const big = new ArrayBatchSource(patternTokens(500, 256, 3), 2, 16, 11).next();
  const results = [];
  for (const [micro, accum] of [[2, 1], [1, 2]] as const) {
    const c = tinyConfig({ train_micro_batch_size_per_gpu: micro, gradient_accumulation_steps: accum, gradient_clipping: 0 });
    const model = buildModel(c, kernels);
    const data = new FixedSource(micro === 2 ? [big] : [rowsOf(big, [0]), rowsOf(big, [1])]);
    const trainer = new Trainer({ config: c, model, kernels, data, val: null, dataTokens: 0, runDir: null, flopsPerToken: null, peakFlops: null });
    const m = trainer.trainStep();
    results.push({ loss: m.loss, norm: m.grad_norm, grads: Float32Array.from(model.params.grads), params: Float32Array.from(model.params.data) });
  }
  const [one, two] = results as [(typeof results)[0], (typeof results)[0]];
  assert.ok(Math.abs(one.loss - two.loss) / one.loss < 1e-6, `loss ${one.loss} vs ${two.loss}`);
  assertClose(two.grads, one.grads, 1e-5, 'gradients');
  assertClose(two.params, one.params, 1e-6, 'parameters after the step');
});

test('same seed gives identical losses; another seed does not', () => {
  const losses = (seed: number): number[] =>
    runTraining(tinyConfig({ seed, 'data.corpus': corpus, 'train.out_dir': tmp(), 'train.run_name': 'r' }), null, { log: () => {}, skipPeakMeasurement: true })
      .result.steps.map((m) => m.loss);
  const a = losses(7);
  const b = losses(7);
  const c = losses(8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok((a[3] as number) < (a[0] as number), `loss falls: ${a.join(', ')}`);
});

test('checkpoint + resume continues with the same losses as an uninterrupted run', () => {
  const set = { 'data.corpus': corpus, 'scheduler.params.total_num_steps': 6, 'data.val_fraction': 0.05, 'data.val_every': 2 };
  const quiet = { log: () => {}, skipPeakMeasurement: true };
  const full = runTraining(tinyConfig({ ...set, 'train.steps': 6, 'train.out_dir': tmp(), 'train.run_name': 'full' }), null, quiet);
  const out = tmp();
  const first = runTraining(tinyConfig({ ...set, 'train.steps': 3, 'train.out_dir': out, 'train.run_name': 'part' }), null, quiet);
  assert.equal(first.result.finalStep, 3);
  const ckpt = loadCheckpoint(join(out, 'part', 'checkpoint'));
  assert.equal(ckpt.state.step, 3);
  const resumed = runTraining(tinyConfig({ ...set, 'train.steps': 6 }), ckpt, quiet);
  assert.equal(resumed.runDir, join(out, 'part'));
  const want = full.result.steps.slice(3);
  assert.equal(resumed.result.steps.length, 3);
  resumed.result.steps.forEach((m, i) => {
    const w = want[i] as (typeof want)[0];
    assert.equal(m.step, w.step);
    assert.ok(Math.abs(m.loss - w.loss) <= 1e-6 * Math.abs(w.loss), `step ${m.step}: ${m.loss} vs ${w.loss}`);
    assert.equal(m.val_loss === undefined, w.val_loss === undefined);
    if (m.val_loss !== undefined) assert.ok(Math.abs(m.val_loss - (w.val_loss as number)) <= 1e-6 * m.val_loss);
  });
  const metrics = readMetrics(join(out, 'part', 'metrics.jsonl'));
  assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3, 4, 5, 6]);
});

test('a NaN loss stops the run naming the step, and the last good checkpoint stays', () => {
  const runDir = join(tmp(), 'nan');
  const c = tinyConfig({ 'train.steps': 10, 'train.checkpoint_every': 2 });
  const model = new BigramLM(256, 1, 5);
  const data = new ArrayBatchSource(patternTokens(400, 256, 1), 2, 8, 3);
  const trainer = new Trainer({ config: c, model, kernels: kernelsFor('reference', 1), data, val: null, dataTokens: 400, runDir, flopsPerToken: null, peakFlops: null });
  assert.throws(() => trainer.run(), (err: unknown) => {
    assert.ok(err instanceof NonFiniteLossError, String(err));
    assert.equal(err.step, 5);
    assert.match(err.message, /loss is NaN at step 5/);
    return true;
  });
  const ckpt = loadCheckpoint(join(runDir, 'checkpoint'));
  assert.equal(ckpt.state.step, 4);
  assert.deepEqual(readMetrics(join(runDir, 'metrics.jsonl')).map((m) => m.step), [1, 2, 3, 4]);
  assert.ok(!existsSync(join(runDir, '.checkpoint.tmp-' + process.pid)), 'no temporary folder left behind');
  const w = ckpt.model.get('transformer.wte.weight');
  assert.ok(w && w.data.every((x) => Number.isFinite(x)), 'checkpointed weights are finite');
});
