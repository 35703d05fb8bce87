// `ulysses prepare --tokenizer`, training on its token file, and `ulysses sample` decoding with the
// run's Hugging Face tokenizer; TextStream writes exactly the decoded text, documents apart.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { TextStream } from '../../src/cli/sample-command.js';
import { ByteTokenizer, HfTokenizer } from '../../src/train/data/hf-tokenizer.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN = join(HERE, '..', '..', 'src', 'cli', 'main.js');
const TINY_BPE = join(HERE, '..', '..', '..', 'test', 'interop', 'fixtures', 'tiny-bpe');
const dir = mkdtempSync(join(tmpdir(), 'ulysses-cli-tok-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function ulysses(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('TextStream writes the decoded text, a blank line per separator, never half a character', () => {
  const bpe = HfTokenizer.fromFile(TINY_BPE);
  const a = bpe.encode('the cat sat on the mat');
  const b = bpe.encode('héllo wörld');
  let out = '';
  const s = new TextStream(bpe, (t) => (out += t));
  for (const id of [...a, 263, ...b]) s.push(id);
  s.flush();
  assert.equal(out, 'the cat sat on the mat\n\nhéllo wörld');
  let bytesOut = '';
  const chunks: string[] = [];
  const bs = new TextStream(new ByteTokenizer(), (t) => { bytesOut += t; chunks.push(t); });
  for (const id of new TextEncoder().encode('é€')) bs.push(id);
  bs.flush();
  assert.equal(bytesOut, 'é€');
  assert.ok(chunks.every((c) => !c.includes('\uFFFD')), JSON.stringify(chunks));
});

test('prepare --tokenizer, train on the token file, sample with the run tokenizer', () => {
  writeFileSync(join(dir, 'corpus.txt'), 'the cat sat on the mat and the dog sat on the log. '.repeat(40));
  const prep = ulysses('prepare', '--corpus', 'corpus.txt', '--out', 'bpe.tokens', '--tokenizer', TINY_BPE);
  assert.equal(prep.code, 0, prep.stderr);
  assert.match(prep.stdout, /wrote bpe\.tokens: \d+ tokens \(uint16, vocabulary 264\), 1 documents/);
  const train = ulysses(
    'train', '--corpus', 'bpe.tokens', '--set', `data.tokenizer=${TINY_BPE}`, '--set', 'model.vocab_size=264', '--steps', '2', '--sp', '1',
    '--set', 'model.d_model=16', '--set', 'model.n_layers=1', '--set', 'model.n_heads=2', '--set', 'model.max_seq_len=32', '--seq-len', '32',
    '--batch-size', '2', '--threads', '1', '--set', 'data.val_fraction=0', '--out-dir', 'runs', '--name', 'bpe',
  );
  assert.equal(train.code, 0, train.stderr);
  const args = ['sample', '--checkpoint', join('runs', 'bpe', 'checkpoint'), '--prompt', 'the cat', '--tokens', '12', '--seed', '5'];
  const s1 = ulysses(...args);
  assert.equal(s1.code, 0, s1.stderr);
  assert.ok(s1.stdout.startsWith('the cat'), s1.stdout);
  assert.ok(s1.stdout.length > 'the cat'.length + 3, s1.stdout);
  assert.equal(ulysses(...args).stdout, s1.stdout, 'same seed, same sample');
  // --tokenizer overrides the run's; a missing one is refused by name.
  const bad = ulysses(...args, '--tokenizer', 'missing-tokenizer');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /tokenizer missing-tokenizer does not exist/);
});
