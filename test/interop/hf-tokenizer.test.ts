// Hugging Face tokenizer.json through @huggingface/tokenizers, offline. The fixture is a hand-made
// byte-level BPE: ids 0-255 are GPT-2's byte symbols in byte order, then seven merges
// (Ġt, he, Ġthe, Ġc, at, Ġcat, the), then the special token <|endoftext|> (263).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DataError } from '../../src/train/errors.js';
import { ByteTokenizer, HfTokenizer, openTokenizer, tokenizeDocuments } from '../../src/train/data/hf-tokenizer.js';

// Compiled tests run from dist/test/interop; the fixture stays in the source tree.
const fixture = fileURLToPath(new URL('../../../test/interop/fixtures/tiny-bpe', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'ulysses-tok-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a tokenizer.json folder loads offline and applies its merges by rank', () => {
  const tok = HfTokenizer.fromFile(fixture);
  assert.equal(tok.vocabSize, 264);
  assert.equal(tok.separatorId, 263, 'eos_token of tokenizer_config.json');
  assert.deepEqual(tok.encode('the cat'), [262, 261]);
  assert.deepEqual(tok.encode(' the cat<|endoftext|>'), [258, 261, 263]);
  assert.deepEqual(tok.encode('hi'), [104, 105], 'unmerged bytes are their own ids');
  assert.deepEqual(tok.encode(''), []);
  assert.equal(tok.decode([258, 261]), ' the cat');
  assert.equal(tok.decode([]), '');
  assert.equal(tok.tokenId('Ġcat'), 261);
  assert.equal(tok.tokenId('nope'), null);
});

test('byte-level BPE round-trips any text, and ids outside the vocabulary are refused', () => {
  const tok = HfTokenizer.fromFile(join(fixture, 'tokenizer.json'));
  for (const text of ['The cat sat on the mat.\n', 'héllo wörld 🙂\t\u0000x', '  two  spaces ', '日本語のテキスト']) {
    const ids = tok.encode(text);
    assert.ok(ids.every((id) => id >= 0 && id < tok.vocabSize));
    assert.equal(tok.decode(ids), text);
  }
  assert.throws(() => tok.decode([264]), RangeError);
  assert.throws(() => tok.decode([1.5]), RangeError);
});

test('without tokenizer_config.json the separator is found among common end-of-text tokens', () => {
  const dir = mkdtempSync(join(root, 'noconf-'));
  writeFileSync(join(dir, 'tokenizer.json'), readFileSync(join(fixture, 'tokenizer.json')));
  const tok = HfTokenizer.fromFile(dir);
  assert.equal(tok.separatorId, 263);
});

test('openTokenizer: "bytes" is the byte-level default; bad paths and files are refused as data errors', () => {
  const bytes = openTokenizer('bytes');
  assert.ok(bytes instanceof ByteTokenizer);
  assert.equal(bytes.vocabSize, 256);
  assert.deepEqual(bytes.encode('hé'), [104, 195, 169]);
  assert.equal(bytes.decode([104, 195, 169]), 'hé');
  assert.ok(openTokenizer(fixture) instanceof HfTokenizer);
  assert.throws(() => openTokenizer(join(root, 'missing.json')), (e: unknown) => e instanceof DataError && /does not exist/.test(e.message));
  const bad = join(root, 'bad.json');
  writeFileSync(bad, '{ not json');
  assert.throws(() => openTokenizer(bad), (e: unknown) => e instanceof DataError && /not a readable tokenizer file/.test(e.message));
  const empty = mkdtempSync(join(root, 'empty-'));
  assert.throws(() => openTokenizer(empty), (e: unknown) => e instanceof DataError && /has no tokenizer\.json/.test(e.message));
});

test('tokenizeDocuments: a corpus in HF tokens with the separator between documents', () => {
  const tok = HfTokenizer.fromFile(fixture);
  const src = tokenizeDocuments(tok, [{ text: 'the cat' }, { text: '' }, { text: ' the cat' }], 'two documents');
  assert.equal(src.vocabSize, 264);
  assert.equal(src.documents, 2);
  assert.ok(src.tokens instanceof Uint16Array, 'ids above 255 need 16 bits');
  assert.deepEqual(Array.from(src.tokens), [262, 261, 263, 258, 261]);
  const out = new Int32Array(3);
  src.read(2, out);
  assert.deepEqual(Array.from(out), [263, 258, 261]);
  const bytes = tokenizeDocuments(new ByteTokenizer(), [{ text: 'ab' }, { text: 'c' }], 'bytes');
  assert.ok(bytes.tokens instanceof Uint8Array);
  assert.deepEqual(Array.from(bytes.tokens), [97, 98, 0, 99]);
  assert.throws(() => tokenizeDocuments(tok, [{ text: '' }], 'empty'), (e: unknown) => e instanceof DataError && /contains no text/.test(e.message));
});
