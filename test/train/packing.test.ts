// data.pack_documents: the loader's document ids and doc-relative positions on a hand-made corpus,
// kept through sequence sharding, and packed training on 2 sequence-parallel ranks equal to one worker.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { validationBatches, windowsToBatch } from '../../src/train/data/sampler.js';
import { shardGlobalBatch } from '../../src/train/data/sharded-source.js';
import { MemoryTokenSource } from '../../src/train/data/token-source.js';
import { launchTraining } from '../../src/train/parallel-run.js';
import { checkedModelConfig, packOptions, runTraining } from '../../src/train/run.js';
import { assertClose } from '../helpers.js';
import { tinyConfig } from './fixtures.js';

const TINY_BPE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'interop', 'fixtures', 'tiny-bpe');
const root = mkdtempSync(join(tmpdir(), 'ulysses-packing-'));
after(() => rmSync(root, { recursive: true, force: true }));
const docs = join(root, 'docs');
mkdirSync(docs);
for (let i = 0; i < 40; i++) writeFileSync(join(docs, `d${String(i).padStart(2, '0')}.txt`), `doc ${i}: ${'abcdefg'.slice(0, 1 + (i % 7))}.`);
const quiet = { log: (): void => {}, skipPeakMeasurement: true, quiet: true };

test('packed windows: ids count separators, positions restart after each, sharding keeps both', () => {
  // Tokens: 5 6 0 | 7 8 9 0 | 4 ... with separator 0; a window of T = 8 from offset 0 and one from 1.
  const src = new MemoryTokenSource(Uint8Array.of(5, 6, 0, 7, 8, 9, 0, 4, 3, 2), 256, 3, 'hand-made');
  const batch = windowsToBatch(src, [0, 1], 8, { separator: 0 });
  assert.deepEqual(Array.from(batch.docIds ?? []), [0, 0, 0, 1, 1, 1, 1, 2, /* row 1 */ 0, 0, 1, 1, 1, 1, 2, 2]);
  assert.deepEqual(Array.from(batch.positions), [0, 1, 2, 0, 1, 2, 3, 0, /* row 1 */ 0, 1, 0, 1, 2, 3, 0, 1]);
  assert.deepEqual(Array.from(batch.targets ?? []), [6, 0, 7, 8, 9, 0, 4, 3, 0, 7, 8, 9, 0, 4, 3, 2]);
  const plain = windowsToBatch(src, [0], 8);
  assert.equal(plain.docIds, null);
  assert.deepEqual(Array.from(plain.positions), [0, 1, 2, 3, 4, 5, 6, 7]);
  // Rank 1 of 3 holds tokens 3..5 of each row (3/3/2), with the whole-window ids and positions.
  const shard = shardGlobalBatch(batch, { dpRank: 0, dp: 1, spRank: 1, sp: 3 });
  assert.deepEqual(Array.from(shard.docIds ?? []), [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(shard.positions), [0, 1, 2, 1, 2, 3]);
  assert.equal(validationBatches(src, { start: 0, end: 10 }, 8, 1, 1, { separator: 0 })[0]?.docIds?.length, 8);
});

test('packed training: sp=2 equals one worker, and packing changes what attention sees', { timeout: 60_000 }, async () => {
  const set = { 'data.corpus': docs, 'data.pack_documents': true, 'train.steps': 3, 'train.out_dir': root, 'model.max_seq_len': 32, 'data.seq_len': 32 };
  for (const type of ['llama', 'gpt']) {
    const more = type === 'llama' ? { 'model.type': 'llama', 'model.tie_embeddings': false } : {};
    const one = runTraining(tinyConfig({ ...set, ...more, 'train.run_name': `${type}1` }), null, quiet).result.steps.map((m) => m.loss);
    const two = await launchTraining(tinyConfig({ ...set, ...more, sequence_parallel_size: 2, 'train.run_name': `${type}2` }), null, quiet);
    assertClose(two.result.steps.map((m) => m.loss), one, 1e-5, `${type}: packed sp=2 vs one worker`);
    const unpacked = runTraining(tinyConfig({ ...set, ...more, 'data.pack_documents': false, 'train.run_name': `${type}u` }), null, quiet);
    assert.ok(Math.abs((unpacked.result.steps[0]?.loss ?? 0) - (one[0] ?? 0)) > 1e-6, `${type}: packing masks attention across documents`);
  }
});

test('packing cuts documents at the tokenizer separator: NUL for bytes, <|endoftext|> for the BPE fixture', () => {
  const bytes = tinyConfig({ 'data.pack_documents': true });
  assert.deepEqual(packOptions(bytes, checkedModelConfig(bytes)), { separator: 0 });
  const bpe = tinyConfig({ 'data.pack_documents': true, 'data.tokenizer': TINY_BPE, 'model.vocab_size': 264 });
  assert.deepEqual(packOptions(bpe, checkedModelConfig(bpe)), { separator: 263 });
  assert.equal(packOptions(tinyConfig(), checkedModelConfig(tinyConfig())), null);
});
