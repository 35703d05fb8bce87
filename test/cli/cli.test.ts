import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { readMetrics } from '../../src/train/metrics.js';
import { assertClose } from '../helpers.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'ulysses-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function ulysses(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TINY = [
  '--set', 'model.d_model=16', '--set', 'model.n_layers=1', '--set', 'model.n_heads=2', '--set', 'model.max_seq_len=32',
  '--seq-len', '32', '--batch-size', '2', '--kernels', 'native', '--threads', '1', '--set', 'data.val_fraction=0.1',
  '--val-every', '2', '--set', 'scheduler.params.total_num_steps=5',
];

test('the entry point is an executable node script', () => {
  assert.ok(readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n'));
  const help = ulysses('train', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--config <file>/);
  assert.match(help.stdout, /--resume <checkpoint>/);
  const keys = ulysses('train', '--list-keys');
  assert.match(keys.stdout, /^model\.n_heads: /m);
});

test('prepare, train, resume and sample end to end', () => {
  writeFileSync(join(dir, 'corpus.txt'), 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(40));
  const prep = ulysses('prepare', '--corpus', 'corpus.txt', '--out', 'corpus.tokens');
  assert.equal(prep.code, 0, prep.stderr);
  assert.match(prep.stdout, /wrote corpus\.tokens: 3160 tokens \(uint8, vocabulary 256\), 1 documents/);

  const train = ulysses('train', '--corpus', 'corpus.tokens', '--steps', '3', '--out-dir', 'runs', '--name', 'e2e', ...TINY);
  assert.equal(train.code, 0, train.stderr);
  assert.match(train.stdout, /peak: 1024\^3 sgemm with native kernels, 1 threads: [\d.]+ GFLOP\/s/);
  // The defaults are sequence-parallel: two worker threads, each line with its communication.
  assert.match(train.stdout, /2 ranks \(sequence_parallel_size 2 x data_parallel_size 1\)/);
  assert.match(train.stdout, /step 3\/3 \| loss [\d.]+ \| lr .* \| grad_norm .* tok\/s \| mfu [\d.]+% \| \d+ ms \| comm \d+ ms [\d.]+ MB \(a2a [\d.]+, allreduce [\d.]+\)/);
  const run = join(dir, 'runs', 'e2e');
  // train.log holds exactly what the main thread and rank 0 printed, header to last checkpoint line.
  const trainLog = (name: string): string => readFileSync(join(dir, 'runs', name, 'train.log'), 'utf8');
  assert.match(train.stdout, /^step 1\/3 \| /m);
  assert.equal(trainLog('e2e'), train.stdout, 'train.log of the --sp 2 run');
  const metrics = readMetrics(join(run, 'metrics.jsonl'));
  assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3]);
  for (const m of metrics) {
    for (const key of ['loss', 'lr', 'grad_norm', 'tokens_per_s', 'mfu', 'time_ms', 'comm_ms', 'comm_bytes_sent', 'comm_a2a_bytes_sent'] as const) {
      assert.equal(typeof m[key], 'number', `${key} in ${JSON.stringify(m)}`);
    }
  }
  assert.equal(typeof metrics[1]?.val_loss, 'number', 'validation at step 2');
  for (const f of ['model.safetensors', 'config.json', 'optimizer.safetensors', 'trainer_state.json', 'manifest.json']) {
    assert.ok(existsSync(join(run, 'checkpoint', f)), f);
  }
  assert.equal((JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { model: { d_model: number } }).model.d_model, 16);

  // One worker on the same data follows the same losses.
  const one = ulysses('train', '--corpus', 'corpus.tokens', '--steps', '3', '--out-dir', 'runs', '--name', 'one', ...TINY, '--sp', '1');
  assert.equal(one.code, 0, one.stderr);
  assert.doesNotMatch(one.stdout, /comm /);
  assert.match(one.stdout, /^step 3\/3 \| /m);
  assert.equal(trainLog('one'), one.stdout, 'train.log of the one-worker run');
  assertClose(readMetrics(join(dir, 'runs', 'one', 'metrics.jsonl')).map((m) => m.loss), metrics.map((m) => m.loss), 1e-5, 'losses, sp 1 vs sp 2');

  const again = ulysses('train', '--corpus', 'corpus.tokens', '--steps', '3', '--out-dir', 'runs', '--name', 'e2e', ...TINY);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already holds a run; continue it with --resume/);
  assert.equal(trainLog('e2e'), train.stdout, 'a refused run leaves the log alone');

  const resumed = ulysses('train', '--resume', join('runs', 'e2e'), '--steps', '5');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resuming from .* at step 3/);
  assert.deepEqual(readMetrics(join(run, 'metrics.jsonl')).map((m) => m.step), [1, 2, 3, 4, 5]);
  assert.match(resumed.stdout, /^step 5\/5 \| /m);
  assert.equal(trainLog('e2e'), train.stdout + resumed.stdout, 'the resumed run appends to train.log');

  const args = ['sample', '--checkpoint', join('runs', 'e2e', 'checkpoint'), '--prompt', 'It was', '--tokens', '20', '--seed', '3', '--threads', '1'];
  const s1 = ulysses(...args);
  const s2 = ulysses(...args);
  assert.equal(s1.code, 0, s1.stderr);
  assert.ok(s1.stdout.startsWith('It was'));
  assert.ok(s1.stdout.length > 'It was'.length + 5);
  assert.equal(s1.stdout, s2.stdout, 'same seed, same sample');
});

test('bad config and bad data print one line and exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--set', 'model.n_head=4'], /^ulysses: unknown config key model\.n_head; allowed: type, d_model/],
    [['train', '--steps', 'many'], /^ulysses: config key train\.steps must be an integer >= 1, got "many"/],
    [['train', '--seq-len', '4096'], /^ulysses: data\.seq_len \(4096\) exceeds model\.max_seq_len \(1024\)/],
    [['train', '--sp', '8'], /^ulysses: sequence_parallel_size \(8\) exceeds model\.n_heads \(4\).*use a size in 1\.\.4/],
    [['train', '--sp', '3', '--seq-len', '2'], /^ulysses: sequence_parallel_size \(3\) exceeds data\.seq_len \(2\)/],
    [['train', '--corpus', 'missing.txt', '--steps', '1'], /^ulysses: data\.corpus: missing\.txt does not exist/],
    [['train', '--config', 'nope.json'], /^ulysses: config file nope\.json does not exist/],
    [['sample', '--checkpoint', 'nowhere'], /^ulysses: checkpoint nowhere does not exist/],
  ];
  for (const [args, pattern] of cases) {
    const r = ulysses(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  const unknownFlag = ulysses('train', '--bogus');
  assert.equal(unknownFlag.code, 2);
  assert.match(unknownFlag.stderr, /unknown option '--bogus'/);
});
