// The `attention` config section: refusals that name the key, and training runs with sliding-window
// and block-sparse attention on one worker and on 3 sequence-parallel ranks with the same losses;
// the dense reference core follows flash; sampling rebuilds the layout for its own lengths.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generate } from '../../src/train/generate.js';
import { launchTraining } from '../../src/train/parallel-run.js';
import { buildModel, kernelsFor, runTraining } from '../../src/train/run.js';
import { assertClose } from '../helpers.js';
import { tinyConfig } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-attn-run-'));
after(() => rmSync(root, { recursive: true, force: true }));
const corpus = join(root, 'corpus.txt');
writeFileSync(corpus, 'the rain in spain stays mainly in the plain; how now brown cow. '.repeat(60));
const quiet = { log: (): void => {}, skipPeakMeasurement: true, quiet: true };
/** Llama with GQA on 15-token windows: 3 ranks hold 5 tokens and 2/1/1 query heads each. */
const base = {
  'model.type': 'llama', 'model.n_heads': 4, 'model.n_kv_heads': 2, 'model.tie_embeddings': false,
  'data.seq_len': 15, 'data.corpus': corpus, 'train.steps': 3, 'train.out_dir': root,
};

let name = 0;
async function losses(set: Record<string, unknown>, sp: number): Promise<number[]> {
  const c = tinyConfig({ ...base, ...set, sequence_parallel_size: sp, 'train.run_name': `r${name++}` });
  const out = sp === 1 ? runTraining(c, null, quiet) : await launchTraining(c, null, quiet);
  return out.result.steps.map((m) => m.loss);
}

test('attention config refusals name the key and the kind it belongs to', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ 'attention.window': 4 }, /attention\.window is set \(4\) but attention\.kind is "flash"; it belongs to attention\.kind "sliding_window"/],
    [{ 'attention.kind': 'sliding_window' }, /attention\.kind "sliding_window" needs attention\.window/],
    [{ 'attention.kind': 'sliding_window', 'attention.window': 4, 'attention.block_size': 4 }, /attention\.block_size is set \(4\).*belongs to attention\.kind "block_sparse"/],
    [{ 'attention.kind': 'block_sparse', 'attention.layout': 'fixed' }, /needs attention\.block_size/],
    [{ 'attention.kind': 'block_sparse', 'attention.block_size': 4 }, /needs attention\.layout \("bigbird", "fixed" or "strided"\)/],
    [{ 'attention.kind': 'block_sparse', 'attention.block_size': 4, 'attention.layout': 'strided', 'attention.random_blocks': 2 },
      /attention\.random_blocks is set \(2\) but attention\.layout "strided" does not use it; it takes attention\.stride_blocks/],
    [{ 'attention.kind': 'dense', 'attention.per_head': true }, /attention\.per_head is set \(true\) but attention\.kind is "dense"/],
    [{ 'attention.kind': 'ring' }, /config key attention\.kind must be one of "flash", "dense", "sliding_window", "block_sparse"/],
    [{ 'attention.window': 0 }, /config key attention\.window must be an integer >= 1 or null, got 0/],
  ];
  for (const [set, pattern] of cases) assert.throws(() => tinyConfig(set), pattern, JSON.stringify(set));
});

test('sliding window: one worker = 3 sequence-parallel ranks, and the window changes the losses', { timeout: 60_000 }, async () => {
  const set = { 'attention.kind': 'sliding_window', 'attention.window': 4 };
  const one = await losses(set, 1);
  assertClose(await losses(set, 3), one, 1e-5, 'sliding window, sp=3 vs one worker');
  const flash = await losses({}, 1);
  assert.ok(Math.abs((one[0] ?? 0) - (flash[0] ?? 0)) > 1e-6, 'a 4-token window is not full causal attention');
});

test('block-sparse presets: one worker = 3 sequence-parallel ranks', { timeout: 60_000 }, async () => {
  const presets: Record<string, unknown>[] = [
    { 'attention.layout': 'bigbird', 'attention.per_head': true, 'attention.local_blocks': 0, 'attention.global_blocks': 1, 'attention.random_blocks': 1, 'attention.seed': 7 },
    { 'attention.layout': 'fixed', 'attention.stride_blocks': 2, 'attention.summary_blocks': 1 },
    { 'attention.layout': 'strided', 'attention.stride_blocks': 2 },
  ];
  const flash = await losses({}, 1);
  for (const p of presets) {
    const set = { 'attention.kind': 'block_sparse', 'attention.block_size': 4, ...p };
    const one = await losses(set, 1);
    assertClose(await losses(set, 3), one, 1e-5, `block_sparse ${JSON.stringify(p)}`);
    // Every preset here drops some causal blocks of 4 blocks, so the losses leave flash's.
    assert.ok(Math.abs((one[0] ?? 0) - (flash[0] ?? 0)) > 1e-6, `${JSON.stringify(p)} is sparser than causal`);
  }
});

test('the dense reference core follows flash; sampling rebuilds the layout for each length', { timeout: 60_000 }, async () => {
  assertClose(await losses({ 'attention.kind': 'dense' }, 1), await losses({}, 1), 1e-5, 'dense vs flash');
  const c = tinyConfig({ ...base, 'attention.kind': 'block_sparse', 'attention.block_size': 4, 'attention.layout': 'strided', 'attention.stride_blocks': 2 });
  const model = buildModel(c, kernelsFor('native', 1));
  // 20 new tokens after a 3-token prompt pass every length from 3 to 16 (the model's max_seq_len).
  const out = generate(model, [104, 111, 119], { tokens: 20, temperature: 0, seed: 1 });
  assert.equal(out.length, 20);
  assert.ok(out.every((t) => Number.isInteger(t) && t >= 0 && t < 256));
});
