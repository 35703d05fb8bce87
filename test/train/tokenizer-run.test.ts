// data.tokenizer: training on a Hugging Face BPE tokenizer (the tiny-bpe fixture, 264 tokens with
// <|endoftext|> between documents) in memory and through a prepared token file, on one worker and
// sp = 2, and the checks that keep a model's vocabulary and a token file's ids honest.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { openCorpus, prepareTokenFile } from '../../src/train/data/corpus.js';
import { ByteTokenizer, HfTokenizer, type Tokenizer } from '../../src/train/data/hf-tokenizer.js';
import { TokenFile } from '../../src/train/data/token-file.js';
import { ConfigError, DataError } from '../../src/train/errors.js';
import { launchTraining } from '../../src/train/parallel-run.js';
import { runTraining } from '../../src/train/run.js';
import { assertClose } from '../helpers.js';
import { tinyConfig } from './fixtures.js';

const TINY_BPE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'interop', 'fixtures', 'tiny-bpe');
const root = mkdtempSync(join(tmpdir(), 'ulysses-tokenizer-'));
after(() => rmSync(root, { recursive: true, force: true }));
const docs = join(root, 'docs');
mkdirSync(docs);
writeFileSync(join(docs, 'a.txt'), 'the cat sat on the mat and the dog sat on the log. '.repeat(30));
writeFileSync(join(docs, 'b.txt'), 'a bird in the hand is worth two in the bush. '.repeat(30));
const quiet = { log: (): void => {}, skipPeakMeasurement: true, quiet: true };
const bpe = { 'data.tokenizer': TINY_BPE, 'model.vocab_size': 264, 'data.corpus': docs, 'train.out_dir': root, 'train.steps': 3 };

function readAll(source: { length: number; read(start: number, out: Int32Array): void }): number[] {
  const out = new Int32Array(source.length);
  source.read(0, out);
  return Array.from(out);
}

test('a BPE corpus: ids, separators between documents, and round trip through prepare', () => {
  const tok: Tokenizer = HfTokenizer.fromFile(TINY_BPE);
  assert.equal(tok.vocabSize, 264);
  assert.equal(tok.separatorId, 263);
  const mem = openCorpus(docs, tok);
  const ids = readAll(mem);
  assert.equal(mem.documents, 2);
  assert.equal(ids.filter((t) => t === 263).length, 1, 'one separator between two documents');
  assert.ok(ids.some((t) => t >= 256), 'merged tokens beyond the byte range occur');
  assert.ok(ids.length < 30 * (51 + 45), 'BPE is shorter than bytes');
  const sep = ids.indexOf(263);
  assert.equal(tok.decode(ids.slice(0, sep)), 'the cat sat on the mat and the dog sat on the log. '.repeat(30));

  const path = join(root, 'bpe.tokens');
  const h = prepareTokenFile(docs, path, tok);
  assert.deepEqual([h.vocabSize, h.bytesPerToken, h.documentCount, h.tokenCount], [264, 2, 2, ids.length]);
  const file = openCorpus(path, tok);
  assert.ok(file instanceof TokenFile);
  assert.deepEqual(readAll(file), ids);
  file.close();
  // The byte tokenizer's 256 ids cannot be what wrote a 264-token file.
  assert.throws(() => openCorpus(path, new ByteTokenizer()), (e: unknown) => e instanceof DataError && /set data\.tokenizer/.test(e.message));
  const huge: Tokenizer = { vocabSize: 70000, separatorId: null, encode: () => [1], decode: () => '' };
  assert.throws(() => prepareTokenFile(docs, join(root, 'huge.tokens'), huge), (e: unknown) => e instanceof DataError && /uint16.*65535/.test(e.message));
});

test('training with the BPE tokenizer: one worker, sp = 2 and a token file give the same losses', { timeout: 60_000 }, async () => {
  const one = runTraining(tinyConfig({ ...bpe, 'train.run_name': 'bpe1' }), null, quiet);
  const losses = one.result.steps.map((m) => m.loss);
  assert.ok(losses.every((l) => Number.isFinite(l)));
  // Near ln(264) at the start: the model predicts over the tokenizer's ids.
  assert.ok(Math.abs((losses[0] ?? 0) - Math.log(264)) < 0.5, `first loss ${losses[0]}`);
  const two = await launchTraining(tinyConfig({ ...bpe, 'train.run_name': 'bpe2', sequence_parallel_size: 2 }), null, quiet);
  assertClose(two.result.steps.map((m) => m.loss), losses, 1e-5, 'sp=2 vs one worker');
  const path = join(root, 'train.tokens');
  prepareTokenFile(docs, path, HfTokenizer.fromFile(join(TINY_BPE, 'tokenizer.json')));
  const file = await launchTraining(tinyConfig({ ...bpe, 'data.corpus': path, 'train.run_name': 'bpe3', sequence_parallel_size: 2 }), null, quiet);
  assertClose(file.result.steps.map((m) => m.loss), losses, 1e-5, 'token file vs in memory');
});

test('model.vocab_size must cover the tokenizer; the 256 floor is for bytes only', () => {
  const small = tinyConfig({ ...bpe, 'model.vocab_size': 200, 'train.run_name': 'small' });
  assert.throws(() => runTraining(small, null, quiet), (e: unknown) => e instanceof ConfigError && /model\.vocab_size \(200\).*264 tokens.*at least 264/.test(e.message));
  assert.throws(() => tinyConfig({ 'model.vocab_size': 200 }), /model\.vocab_size must be >= 256 for the byte tokenizer/);
});
