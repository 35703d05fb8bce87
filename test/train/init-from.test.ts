// --init-from: a new run started from an exported checkpoint's Hugging Face folder begins with
// exactly its weights, on one worker and under sequence parallelism (sp = 2), and the folder's
// config.json decides the model shape whatever the flags said.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { trainLayers } from '../../src/cli/train-command.js';
import { buildConfig } from '../../src/train/config.js';
import { openCorpus } from '../../src/train/data/corpus.js';
import { splitTrainVal, WindowSampler } from '../../src/train/data/sampler.js';
import { CheckpointError } from '../../src/train/errors.js';
import { importHfModel } from '../../src/train/hf-import.js';
import { launchTraining } from '../../src/train/parallel-run.js';
import { dataSeed, kernelsFor, runTraining } from '../../src/train/run.js';
import { assertClose } from '../helpers.js';
import { tinyConfig } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-init-from-'));
after(() => rmSync(root, { recursive: true, force: true }));
const corpus = join(root, 'corpus.txt');
writeFileSync(corpus, 'all that glitters is not gold; fortune favours the bold. '.repeat(60));
const quiet = { log: (): void => {}, skipPeakMeasurement: true, quiet: true };
const base = { 'data.corpus': corpus, 'train.out_dir': root, 'train.steps': 3 };

/** The mean loss of the exported weights on the first batch a fresh run with this seed draws. */
function checkpointLossOnFirstBatch(dir: string): number {
  const c = tinyConfig(base);
  const model = importHfModel(dir, kernelsFor('native', 1));
  const source = openCorpus(corpus);
  try {
    const split = splitTrainVal(source, 0, c.data.seq_len);
    const batch = new WindowSampler(source, split.train, c.data.seq_len, c.train_micro_batch_size_per_gpu, dataSeed(c.seed)).next();
    const r = model.forward(batch);
    return r.lossSum / r.count;
  } finally {
    source.close();
  }
}

test('--init-from starts one worker and sp=2 from the checkpoint weights', { timeout: 60_000 }, async () => {
  const first = runTraining(tinyConfig({ ...base, 'train.run_name': 'first' }), null, quiet);
  const exported = join(first.runDir, 'checkpoint');
  const expected = checkpointLossOnFirstBatch(exported);
  const fresh = tinyConfig({ ...base, 'train.run_name': 'fresh' });
  const notInit = runTraining(fresh, null, quiet);
  assert.ok(Math.abs((notInit.result.steps[0]?.loss ?? 0) - expected) > 1e-3, 'a random init would not match the checkpoint');

  // The CLI layers: the folder's config.json overrides a contradicting --set of the model shape.
  const layers = [
    ...Object.entries({ ...base, 'model.type': 'gpt', 'model.d_model': 16, 'model.n_layers': 2, 'model.n_heads': 2, 'model.max_seq_len': 16,
      'data.seq_len': 16, 'data.val_fraction': 0, 'data.val_every': 0, train_micro_batch_size_per_gpu: 2, sequence_parallel_size: 1,
      'train.kernels': 'native', 'train.threads': 1, 'train.checkpoint_every': 0, 'scheduler.params.warmup_num_steps': 1,
      'optimizer.params.lr': 0.01, steps_per_print: 1000, 'train.run_name': 'init1' })
      .map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'test' })),
    ...trainLayers({ set: ['model.n_layers=5'], initFrom: first.runDir }),
  ];
  const c1 = buildConfig(layers);
  assert.equal(c1.model.n_layers, 2);
  assert.equal(c1.train.init_from, first.runDir);
  const one = runTraining(c1, null, quiet);
  assertClose([one.result.steps[0]?.loss ?? NaN], [expected], 1e-5, 'one worker: first-step loss');

  const two = await launchTraining(tinyConfig({ ...base, 'train.run_name': 'init2', sequence_parallel_size: 2, 'train.init_from': exported }), null, quiet);
  assertClose([two.result.steps[0]?.loss ?? NaN], [expected], 1e-5, 'sp=2: first-step loss');
  const zero3 = await launchTraining(tinyConfig({
    ...base, 'train.run_name': 'init3', sequence_parallel_size: 2, 'zero_optimization.stage': 3, 'train.init_from': exported,
  }), null, quiet);
  assertClose([zero3.result.steps[0]?.loss ?? NaN], [expected], 1e-5, 'sp=2 ZeRO-3: first-step loss');
});

test('--init-from refuses a model that differs from the folder, naming the field', () => {
  const first = runTraining(tinyConfig({ ...base, 'train.steps': 1, 'train.run_name': 'shape' }), null, quiet);
  const c = tinyConfig({ ...base, 'train.run_name': 'bad', 'model.d_model': 32, 'train.init_from': first.runDir });
  assert.throws(() => runTraining(c, null, quiet), (e: unknown) => e instanceof CheckpointError && /d_model = 16/.test(e.message));
});
