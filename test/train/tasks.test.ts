import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openCorpus } from '../../src/train/data/corpus.js';
import { shardGlobalBatch } from '../../src/train/data/sharded-source.js';
import { ConfigError } from '../../src/train/errors.js';
import { Rng } from '../../src/train/rng.js';
import { batchesFor } from '../../src/train/tasks/batches-for.js';
import { CopySpanTask } from '../../src/train/tasks/copy-span.js';
import { PasskeyTask } from '../../src/train/tasks/passkey.js';
import { RecallTask } from '../../src/train/tasks/recall.js';
import { checkDepth, checkTaskLength, taskByName, taskOfCorpus } from '../../src/train/tasks/registry.js';
import { FILLER_TEXT } from '../../src/train/tasks/task-sample.js';
import { isWholeRow, packedLengths, TaskBatchSource, TaskTokenSource, taskValidationBatches } from '../../src/train/tasks/task-source.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test('passkey: seeded, T + 1 bytes, the key at the requested depth and the answer is the key', () => {
  const task = new PasskeyTask();
  const T = 300;
  const a = task.sample(new Rng(7), T, 0.5);
  const b = task.sample(new Rng(7), T, 0.5);
  assert.deepEqual(a, b, 'the same seed gives the same sample');
  assert.notDeepEqual(task.sample(new Rng(8), T, 0.5).bytes, a.bytes, 'another seed gives another sample');
  assert.equal(a.bytes.length, T + 1);
  const s = text(a.bytes);
  const needle = /pass key:(\d{5})\. /.exec(s);
  assert.ok(needle, s);
  assert.equal(needle.index, a.needleStart);
  assert.ok(s.endsWith(`What is the pass key? pass key:${needle[1] as string}`), s.slice(-60));
  assert.equal(text(a.bytes.subarray(a.answerStart)), needle[1], 'the answer bytes are exactly the key');
  // Filler before the needle: round(depth * filler bytes), filler = T + 1 - needle - question - answer.
  const filler = T + 1 - 16 - 'What is the pass key? pass key:'.length - 5;
  assert.equal(a.needleStart, Math.round(0.5 * filler));
  assert.equal(task.sample(new Rng(1), T, 0).needleStart, 0, 'depth 0: the key opens the context');
  const end = task.sample(new Rng(1), T, 1);
  assert.equal(end.needleStart + 16, T + 1 - 5 - 'What is the pass key? pass key:'.length, 'depth 1: the key ends where the question starts');
  assert.equal((s.match(/:/g) ?? []).length, 2, 'the colon marks only the key and the question');
  assert.ok(FILLER_TEXT.length > 0 && !/[0-9:<>[\]]/.test(FILLER_TEXT), 'the filler holds no digits or markers');
});

test('passkey at the minimum length has no filler, one byte less is refused naming the minimum', () => {
  const task = taskByName('passkey');
  const s = task.sample(new Rng(3), task.minLength, 0.3);
  assert.match(text(s.bytes), /^pass key:\d{5}\. What is the pass key\? pass key:\d{5}$/);
  assert.throws(() => checkTaskLength(task, task.minLength - 1), (e: Error) => e instanceof ConfigError && e.message.includes(`at least ${task.minLength}`));
  assert.throws(() => new TaskBatchSource(task, 10, 1, 1), /data\.seq_len 10 is too short for task passkey: it needs at least/);
});

test('recall: the queried pair sits at the depth, every pair is there, the answer is the queried value', () => {
  const task = new RecallTask(4);
  const T = 400;
  for (const depth of [0, 0.3, 1]) {
    const smp = task.sample(new Rng(11), T, depth);
    const s = text(smp.bytes);
    assert.equal(smp.bytes.length, T + 1);
    const pairs = [...s.matchAll(/\[([a-z]{4}): (\d{5})\] /g)];
    assert.equal(pairs.length, 4, s);
    const q = /Which value\? \[([a-z]{4}): (\d{5})$/.exec(s);
    assert.ok(q, s.slice(-40));
    const queried = pairs.find((p) => p[1] === q[1]);
    assert.ok(queried, 'the queried key is one of the pairs');
    assert.equal(queried.index, smp.needleStart);
    assert.equal(queried[2], q[2], 'the answer is the queried key\'s value');
    assert.equal(text(smp.bytes.subarray(smp.answerStart)), queried[2]);
    assert.equal(new Set(pairs.map((p) => p[1])).size, 4, 'keys are distinct');
  }
  assert.deepEqual(task.sample(new Rng(5), T, 0.5), task.sample(new Rng(5), T, 0.5));
});

test('copy: the answer is the hidden span, at the requested depth', () => {
  const task = new CopySpanTask(16);
  const T = 256;
  const smp = task.sample(new Rng(2), T, 0.75);
  const s = text(smp.bytes);
  const m = /<<([a-z]{16})>> /.exec(s);
  assert.ok(m, s);
  assert.equal(m.index, smp.needleStart);
  assert.equal(text(smp.bytes.subarray(smp.answerStart)), m[1]);
  assert.ok(s.endsWith(`Repeat it: <<${m[1] as string}`));
  const filler = T + 1 - 21 - 'Repeat it: <<'.length - 16;
  assert.equal(smp.needleStart, Math.round(0.75 * filler));
});

test('task batches: targets are the answer bytes only, resumable, and shard over sp = 4 without losing one', () => {
  const task = new PasskeyTask();
  const T = 128;
  const B = 3;
  const src = new TaskBatchSource(task, T, B, 42);
  const state = src.getState();
  const batch = src.next();
  const again = new TaskBatchSource(task, T, B, 1);
  again.setState(state);
  assert.deepEqual(again.next(), batch, 'setState(getState()) replays the stream');
  assert.notDeepEqual(src.next().tokens, batch.tokens);
  const targets = batch.targets as Int32Array;
  for (let b = 0; b < B; b++) {
    const row = (i: number): number => batch.tokens[b * T + i] as number;
    const s = text(Uint8Array.from({ length: T }, (_, i) => row(i)));
    const key = (/pass key:(\d{5})\. /.exec(s) as RegExpExecArray)[1] as string;
    for (let t = 0; t < T; t++) {
      const want = t >= T - 5 ? key.charCodeAt(t - (T - 5)) : -1;
      assert.equal(targets[b * T + t], want, `row ${b} position ${t}`);
      assert.equal(batch.positions[b * T + t], t);
    }
    for (let t = T - 5; t < T - 1; t++) assert.equal(row(t + 1), targets[b * T + t], 'teacher forcing: the next input is the target');
  }
  let count = 0;
  const tokens: number[] = [];
  for (let r = 0; r < 4; r++) {
    const shard = shardGlobalBatch(batch, { dpRank: 0, dp: 1, spRank: r, sp: 4 });
    assert.equal(shard.T, T / 4);
    count += (shard.targets as Int32Array).filter((x) => x >= 0).length;
    tokens.push(...Array.from(shard.tokens.subarray(0, shard.T)));
  }
  assert.equal(count, 5 * B, 'every answer target lands on some sequence-parallel rank');
  assert.deepEqual(tokens, Array.from(batch.tokens.subarray(0, T)));
});

test('validation batches are fixed and spread the depth over [0, 1]', () => {
  const task = new PasskeyTask();
  const v1 = taskValidationBatches(task, 96, 2, 2, 9);
  assert.deepEqual(v1, taskValidationBatches(task, 96, 2, 2, 9));
  assert.equal(v1.length, 2);
  const first = text(Uint8Array.from((v1[0] as { tokens: Int32Array }).tokens.subarray(0, 96)));
  assert.ok(first.startsWith('pass key:'), 'the first sample has depth 0');
});

test('data.corpus "task:<name>" opens a generated task; unknown names, depths and lengths are refused naming what is allowed', () => {
  const src = openCorpus('task:passkey');
  assert.ok(src instanceof TaskTokenSource);
  const { data, val } = batchesFor(src, { train: { start: 0, end: src.length }, val: { start: 0, end: 1 } }, 64, 2, 1, { val_batches: 3, task_min_len: null, task_whole_share: 0, task_loss: 'answer' }, null);
  assert.ok(data instanceof TaskBatchSource);
  assert.equal(val?.length, 3);
  assert.equal(taskOfCorpus('brown'), null);
  assert.equal(taskOfCorpus('task:copy')?.name, 'copy');
  assert.throws(() => taskOfCorpus('task:sudoku'), /unknown task; allowed: task:passkey, task:recall, task:copy/);
  assert.throws(() => taskByName('sudoku'), /unknown task "sudoku"; allowed: passkey, recall, copy/);
  assert.throws(() => checkDepth(1.5), /depth 1.5 is outside \[0, 1\]/);
  assert.throws(() => checkDepth(-0.1), /outside \[0, 1\]/);
  assert.throws(() => checkDepth(Number.NaN), /outside \[0, 1\]/);
  assert.throws(() => checkTaskLength(taskByName('copy'), 20, '--lengths: length'), /--lengths: length 20 is too short for task copy: it needs at least 49 tokens/);
});

test('packed rows: log-uniform sample lengths that fill the row, each a document of its own with positions from 0', () => {
  const rng = new Rng(4);
  for (let i = 0; i < 50; i++) {
    const ls = packedLengths(rng, 1024, 64);
    assert.equal(ls.reduce((a, b) => a + b, 0), 1024);
    for (const L of ls) assert.ok(L >= 64 && L <= 1024, `length ${L}`);
  }
  const task = new PasskeyTask();
  const T = 512;
  const batch = new TaskBatchSource(task, T, 2, 3, { minLen: 64 }).next();
  const docIds = batch.docIds as Int32Array;
  const targets = batch.targets as Int32Array;
  for (let b = 0; b < 2; b++) {
    let start = 0;
    let docs = 0;
    for (let t = 0; t <= T; t++) {
      if (t < T && docIds[b * T + t] === docIds[b * T + start]) continue;
      // Tokens [start, t) are one sample: positions from 0, the key inside, 5 answer targets at its end.
      docs++;
      const L = t - start;
      assert.ok(L >= 64, `sample of ${L} tokens`);
      for (let k = 0; k < L; k++) assert.equal(batch.positions[b * T + start + k], k);
      const s = text(Uint8Array.from(batch.tokens.subarray(b * T + start, b * T + t)));
      const key = (/pass key:(\d{5})\. /.exec(s) as RegExpExecArray)[1] as string;
      const answer = Array.from(targets.subarray(b * T + start, b * T + t)).filter((x) => x >= 0);
      assert.equal(String.fromCharCode(...answer), key);
      assert.equal(docIds[b * T + start], docs - 1);
      start = t;
    }
    assert.ok(docs >= 1);
  }
  assert.throws(() => new TaskBatchSource(task, 256, 1, 1, { minLen: 512 }), /data.task_min_len 512 is longer than data.seq_len 256/);
  assert.throws(() => new TaskBatchSource(task, 256, 1, 1, { minLen: 10 }), /data.task_min_len 10 is too short for task passkey: it needs at least 51/);
});

test('data.task_whole_share keeps that share of the rows as one full-length sample, spread over the batch; the rest stay packed', () => {
  assert.deepEqual([0, 1, 2, 3].map((b) => isWholeRow(b, 0.5)), [false, true, false, true]);
  assert.deepEqual([0, 1, 2, 3].map((b) => isWholeRow(b, 0.25)), [false, false, false, true]);
  assert.deepEqual([0, 1, 2].map((b) => isWholeRow(b, 1)), [true, true, true]);
  assert.deepEqual([0, 1, 2].map((b) => isWholeRow(b, 0)), [false, false, false]);
  const task = new PasskeyTask();
  const T = 1024;
  const B = 4;
  const src = new TaskBatchSource(task, T, B, 5, { minLen: 64, wholeShare: 0.5 });
  for (let step = 0; step < 3; step++) {
    const batch = src.next();
    const docIds = batch.docIds as Int32Array;
    for (let b = 0; b < B; b++) {
      const docs = new Set(docIds.subarray(b * T, (b + 1) * T)).size;
      const answers = Array.from((batch.targets as Int32Array).subarray(b * T, (b + 1) * T)).filter((x) => x >= 0).length;
      if (b % 2 === 1) {
        assert.equal(docs, 1, `row ${b} is one sample`);
        assert.equal(answers, 5);
        assert.equal(batch.positions[b * T + T - 1], T - 1);
        assert.equal(text(Uint8Array.from(batch.tokens.subarray(b * T + T - 40, (b + 1) * T))).includes('What is the pass key? pass key:'), true);
      } else {
        assert.equal(answers, 5 * docs, `row ${b}: one answer per packed sample`);
      }
    }
  }
  const ids = src.next().docIds as Int32Array;
  assert.ok([0, 2].some((b) => new Set(ids.subarray(b * T, (b + 1) * T)).size > 1), 'packed rows hold several samples');
  assert.throws(() => new TaskBatchSource(task, T, B, 5, { wholeShare: 0.5 }), /data.task_whole_share 0.5 needs packed rows: set data.task_min_len/);
  assert.throws(() => new TaskBatchSource(task, T, B, 5, { minLen: 64, wholeShare: 1.5 }), /data.task_whole_share 1.5 is outside \[0, 1\]/);
});

test('data.task_loss "all" puts a target on every byte, the next input byte, and the answer after the last input', () => {
  const task = new PasskeyTask();
  const T = 96;
  const seedState = new TaskBatchSource(task, T, 1, 8).getState();
  const answerOnly = new TaskBatchSource(task, T, 1, 8).next();
  const all = new TaskBatchSource(task, T, 1, 8, { loss: 'all' }).next();
  assert.equal(new TaskBatchSource(task, T, 1, 8, { loss: 'all' }).getState(), seedState);
  assert.deepEqual(all.tokens, answerOnly.tokens, 'the same samples');
  const t = all.targets as Int32Array;
  for (let i = 0; i < T - 1; i++) assert.equal(t[i], all.tokens[i + 1]);
  assert.equal(t[T - 1], (answerOnly.targets as Int32Array)[T - 1], 'the last target is the last answer byte');
});
