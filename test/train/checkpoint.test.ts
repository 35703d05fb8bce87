import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readSafetensors } from '../../src/tensor/safetensors.js';
import { checkCheckpointFits, loadCheckpoint, restoreModel, restoreOptimizer, saveCheckpoint } from '../../src/train/checkpoint.js';
import { parseSetOverride } from '../../src/train/config.js';
import { CheckpointError } from '../../src/train/errors.js';
import { AdamW } from '../../src/train/optimizer.js';
import { buildModel, kernelsFor, resolveRunConfig, runTraining } from '../../src/train/run.js';
import { randomArray } from '../helpers.js';
import { tinyConfig } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-ckpt-'));
after(() => rmSync(root, { recursive: true, force: true }));
const tmp = (): string => mkdtempSync(join(root, 't'));

function savedCheckpoint(): { dir: string; weights: Float32Array; m: Float32Array } {
  const c = tinyConfig();
  const kernels = kernelsFor('native', 1);
  const model = buildModel(c, kernels);
  const opt = new AdamW(kernels, model.params, c.optimizer.params);
  opt.m.set(randomArray(opt.m.length, 3));
  opt.v.set(randomArray(opt.v.length, 4, 0.01).map(Math.abs));
  opt.step = 7;
  const dir = join(tmp(), 'run', 'checkpoint');
  saveCheckpoint(dir, model, opt, { step: 7, sampler_state: 99, tokens_seen: 448, data_tokens: 1000, config: c });
  return { dir, weights: Float32Array.from(model.params.data), m: Float32Array.from(opt.m) };
}

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof CheckpointError && pattern.test(err.message));
}

test('a checkpoint holds Hugging Face weights, config.json and the full training state', () => {
  const { dir, weights, m } = savedCheckpoint();
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'manifest.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']);
  assert.deepEqual(readdirSync(join(dir, '..')), ['checkpoint'], 'no temporary folders left');
  const st = readSafetensors(join(dir, 'model.safetensors'));
  assert.ok(st.tensors.has('transformer.wte.weight'));
  assert.ok(st.tensors.has('transformer.h.1.mlp.c_fc.weight'));
  const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(hf.model_type, 'gpt2');
  assert.equal(hf.n_embd, 16);
  const ck = loadCheckpoint(dir);
  assert.equal(ck.state.step, 7);
  assert.equal(ck.state.sampler_state, 99);
  const kernels = kernelsFor('native', 1);
  const model = buildModel(tinyConfig({ seed: 999 }), kernels);
  restoreModel(ck, model);
  assert.deepEqual(model.params.data, weights);
  const opt = new AdamW(kernels, model.params, ck.state.config.optimizer.params);
  restoreOptimizer(ck, model.params, opt);
  assert.deepEqual(opt.m, m);
  assert.equal(opt.step, 7);
  // Saving again replaces the checkpoint in place.
  saveCheckpoint(dir, model, opt, { ...ck.state, step: 8 });
  assert.equal(loadCheckpoint(dir).state.step, 8);
});

test('corrupt, incomplete and foreign checkpoints are refused with why', () => {
  const { dir } = savedCheckpoint();
  const path = join(dir, 'model.safetensors');
  const bytes = readFileSync(path);
  bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0xff;
  writeFileSync(path, bytes);
  refused(() => loadCheckpoint(dir), /model\.safetensors does not match its sha256 in manifest\.json/);
  rmSync(path);
  refused(() => loadCheckpoint(dir), /is missing model\.safetensors/);
  rmSync(join(dir, 'manifest.json'));
  refused(() => loadCheckpoint(dir), /has no manifest\.json/);
  refused(() => loadCheckpoint(join(dir, 'nope')), /does not exist/);
  const other = savedCheckpoint().dir;
  const manifest = JSON.parse(readFileSync(join(other, 'manifest.json'), 'utf8')) as { version: number };
  manifest.version = 99;
  writeFileSync(join(other, 'manifest.json'), JSON.stringify(manifest));
  refused(() => loadCheckpoint(other), /version 99; this ulysses reads ulysses-checkpoint version 1/);
});

test('resuming with another model shape or other data is refused', () => {
  const corpus = join(tmp(), 'c.txt');
  writeFileSync(corpus, 'abcdefghij'.repeat(100));
  const out = tmp();
  runTraining(tinyConfig({ 'data.corpus': corpus, 'train.steps': 2, 'train.out_dir': out, 'train.run_name': 'a' }), null, { log: () => {}, skipPeakMeasurement: true });
  const dir = join(out, 'a', 'checkpoint');
  refused(() => resolveRunConfig([parseSetOverride('model.d_model=32')], dir), /trained with model d_model = 16; this run asks for 32/);
  const { config, checkpoint } = resolveRunConfig([parseSetOverride('train.steps=4')], dir);
  assert.equal(config.train.steps, 4);
  assert.equal(config.model.d_model, 16, 'the checkpoint config is the base');
  const other = join(tmp(), 'd.txt');
  writeFileSync(other, 'xyz'.repeat(200));
  refused(
    () => runTraining({ ...config, data: { ...config.data, corpus: other } }, checkpoint, { log: () => {}, skipPeakMeasurement: true }),
    /was trained on 1000 training tokens; data\.corpus .* gives 600/,
  );
  assert.ok(existsSync(dir));
});

/** sha256 of every file under dir, by relative path. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out.set(`${rel}${e.name}`, createHash('sha256').update(readFileSync(join(d, e.name))).digest('hex'));
    }
  };
  walk(dir, '');
  return out;
}

test('a truncated file, a bad checksum or another model shape is refused naming the file and the mismatch; nothing is overwritten', () => {
  const corpus = join(tmp(), 'c.txt');
  writeFileSync(corpus, 'abcdefghij'.repeat(100));
  const out = tmp();
  const quiet = { log: (): void => {}, skipPeakMeasurement: true };
  runTraining(tinyConfig({ 'data.corpus': corpus, 'train.steps': 2, 'train.out_dir': out, 'train.run_name': 'a' }), null, quiet);
  const run = join(out, 'a');
  const dir = join(run, 'checkpoint');
  const before = snapshot(run);
  /** What `ulysses train --resume dir --steps 4 [--set ...]` does up to the first write. */
  const resume = (...set: string[]): unknown => {
    const { config, checkpoint } = resolveRunConfig([parseSetOverride('train.steps=4'), ...set.map(parseSetOverride)], dir);
    return runTraining(config, checkpoint, quiet);
  };

  refused(() => resume('model.n_layers=3'), /checkpoint .*checkpoint\/trainer_state\.json was trained with model n_layers = 2; this run asks for 3/);
  assert.deepEqual(snapshot(run), before, 'nothing in the run folder changed');

  // A checkpoint whose tensors do not match its own config (hand-edited, or another model's files).
  const other = buildModel(tinyConfig({ 'model.d_model': 8 }), kernelsFor('native', 1));
  refused(() => checkCheckpointFits(loadCheckpoint(dir), other.config, other.params.infos),
    /checkpoint .*: model\.safetensors holds transformer\.wte\.weight as F32 \[256, 16\]; the model expects F32 \[256, 8\]/);

  const opt = join(dir, 'optimizer.safetensors');
  const bytes = readFileSync(opt);
  writeFileSync(opt, bytes.subarray(0, bytes.length - 100));
  refused(() => resume(), new RegExp(`optimizer\\.safetensors has ${bytes.length - 100} bytes, manifest\\.json lists ${bytes.length} \\(the file is truncated`));
  writeFileSync(opt, bytes);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 5] = (flipped[flipped.length - 5] as number) ^ 1;
  writeFileSync(opt, flipped);
  refused(() => resume(), /optimizer\.safetensors does not match its sha256 in manifest\.json/);
  writeFileSync(opt, bytes);
  assert.deepEqual(snapshot(run), before, 'after the refusals the run folder is as it was');
  assert.doesNotThrow(() => resume(), 'the repaired checkpoint resumes');
});
