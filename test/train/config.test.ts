import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CONFIG_SCHEMA } from '../../src/train/config-schema.js';
import {
  buildConfig, defaultConfig, modelConfigOf, parseSetOverride, readConfigFile, schedulerTotalSteps, type ConfigLayer,
} from '../../src/train/config.js';
import { ConfigError } from '../../src/train/errors.js';
import type { FieldSpec } from '../../src/train/schema.js';

const json = (value: unknown): ConfigLayer => ({ kind: 'json', value, source: 'test.json' });
const set = (s: string): ConfigLayer => parseSetOverride(s);

function refuses(layers: ConfigLayer[], pattern: RegExp): void {
  assert.throws(() => buildConfig(layers), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('defaults are a valid sequence-parallel Llama on Brown, and every schema key has a default', () => {
  const c = buildConfig([]);
  assert.equal(c.model.type, 'llama');
  assert.equal(c.data.corpus, 'brown');
  assert.equal(c.sequence_parallel_size, 2);
  assert.equal(c.data_parallel_size, 1);
  assert.equal(c.data.seq_len, 1024);
  const mc = modelConfigOf(c);
  assert.equal(mc.d_ff, 352, '8/3 * 128 rounded up to 32');
  assert.equal(modelConfigOf(buildConfig([set('model.type="gpt"')])).d_ff, 4 * mc.d_model, 'a gpt config inherits the other defaults');
  assert.equal(mc.n_kv_heads, mc.n_heads);
  assert.equal(schedulerTotalSteps(c), c.train.steps);
  const walk = (fields: Record<string, FieldSpec>, obj: Record<string, unknown>, prefix: string): void => {
    assert.deepEqual(Object.keys(obj).sort(), Object.keys(fields).sort(), `keys of ${prefix || 'the root'}`);
    for (const [k, spec] of Object.entries(fields)) {
      if (spec.kind === 'section') walk(spec.fields, obj[k] as Record<string, unknown>, `${prefix}${k}.`);
    }
  };
  walk(CONFIG_SCHEMA, defaultConfig() as unknown as Record<string, unknown>, '');
});

test('unknown keys are refused with the full key path and the allowed keys', () => {
  refuses([json({ model: { n_head: 4 } })], /unknown config key model\.n_head in test\.json; allowed: type, d_model, n_layers, n_heads/);
  refuses([json({ optimizer: { params: { learning_rate: 1 } } })], /unknown config key optimizer\.params\.learning_rate/);
  refuses([json({ fp16: { enabled: true } })], /unknown config key fp16/);
  refuses([set('train.stepz=3')], /unknown config key train\.stepz; allowed: steps, kernels/);
});

test('wrong types and impossible values name the field and the allowed range', () => {
  refuses([json({ model: { d_model: 'big' } })], /config key model\.d_model must be an integer in \[1, 65536\], got "big"/);
  refuses([json({ model: { n_layers: 2.5 } })], /model\.n_layers must be an integer/);
  refuses([json({ optimizer: { params: { lr: -1 } } })], /optimizer\.params\.lr must be a number > 0 and <= 10, got -1/);
  refuses([json({ optimizer: { params: { betas: [0.9] } } })], /optimizer\.params\.betas must be two numbers in \[0, 1\)/);
  refuses([json({ model: { type: 'bert' } })], /model\.type must be one of "gpt", "llama", got "bert"/);
  refuses([json({ data: { val_fraction: 0.9 } })], /data\.val_fraction must be a number >= 0 and <= 0\.5/);
  refuses([json({ model: 3 })], /config key model in test\.json must be an object/);
  refuses([json([1, 2])], /the config in test\.json must be an object/);
});

test('sequence-parallel sizes Ulysses cannot use are refused with the sizes that work', () => {
  refuses([set('sequence_parallel_size=8')], /sequence_parallel_size \(8\) exceeds model\.n_heads \(4\).*use a size in 1\.\.4/);
  refuses([set('sequence_parallel_size=3'), set('data.seq_len=2')], /sequence_parallel_size \(3\) exceeds data\.seq_len \(2\).*use a size in 1\.\.2/);
  refuses([set('sequence_parallel_size=0')], /sequence_parallel_size must be an integer in \[1, 4096\]/);
  refuses([set('data_parallel_size=2'), set('train_batch_size=2')], /train_batch_size \(2\) must equal .* data_parallel_size \(2\) = 4/);
  const c = buildConfig([set('sequence_parallel_size=3'), set('data_parallel_size=2')]);
  assert.deepEqual([c.sequence_parallel_size, c.data_parallel_size], [3, 2], 'uneven splits (3 ranks, 4 heads, 1024 tokens) are fine');
});

test('features that are not here yet are refused with why; ZeRO stages 0 to 3 are accepted', () => {
  assert.equal(buildConfig([json({ sequence_parallel: { mode: 'ring' } })]).sequence_parallel.mode, 'ring', 'ring attention is accepted');
  assert.equal(buildConfig([json({ bf16: { enabled: true } })]).bf16.enabled, true, 'bf16 all-to-alls are accepted');
  refuses([json({ zero_optimization: { stage: 4 } })], /zero_optimization\.stage must be an integer in \[0, 3\]/);
  for (const stage of [0, 1, 2, 3]) assert.equal(buildConfig([json({ zero_optimization: { stage } })]).zero_optimization.stage, stage);
});

test('keys that depend on each other are checked together', () => {
  refuses([set('data.seq_len=2048')], /data\.seq_len \(2048\) exceeds model\.max_seq_len \(1024\)/);
  refuses([set('model.n_heads=3')], /model\.n_heads \(3\) must divide model\.d_model \(128\)/);
  refuses([set('model.type="gpt"'), set('model.n_kv_heads=2')], /model\.n_kv_heads must equal model\.n_heads \(4\) for model\.type "gpt"/);
  refuses([set('train_batch_size=32')], /train_batch_size \(32\) must equal .* = 2/);
  refuses([set('scheduler.params.warmup_num_steps=5000')], /warmup_num_steps \(5000\) exceeds total_num_steps \(1500\)/);
  const llama = buildConfig([set('model.type="llama"'), set('model.n_kv_heads=2'), set('model.tie_embeddings=false')]);
  assert.equal(modelConfigOf(llama).n_kv_heads, 2);
  assert.equal(modelConfigOf(llama).d_ff % 32, 0);
});

test('layers apply in order: file, then overrides; --set values parse as JSON or text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulysses-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ train: { steps: 50 }, optimizer: { params: { lr: 0.01 } }, data: { corpus: 'a.txt' } }));
  const c = buildConfig([readConfigFile(file), set('train.steps=7'), set('data.corpus=b.txt'), set('optimizer.params.betas=[0.8,0.9]')]);
  assert.equal(c.train.steps, 7);
  assert.equal(c.optimizer.params.lr, 0.01);
  assert.equal(c.data.corpus, 'b.txt');
  assert.deepEqual(c.optimizer.params.betas, [0.8, 0.9]);
  assert.equal(defaultConfig().train.steps, 1500, 'defaults are not mutated');
  assert.equal(schedulerTotalSteps(c), 7);
  assert.throws(() => readConfigFile(join(dir, 'missing.json')), /config file .*missing\.json does not exist/);
  writeFileSync(file, '{ bad json');
  assert.throws(() => readConfigFile(file), /is not valid JSON/);
  assert.throws(() => parseSetOverride('noequals'), /--set expects key\.path=value/);
  refuses([set('model=3')], /config key model is a section/);
});
