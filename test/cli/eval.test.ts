import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chartEvalReports, runEval, type EvalReport } from '../../src/cli/eval-command.js';
import type { CausalLM, ForwardResult, TokenBatch } from '../../src/nn/causal-lm.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { ConfigError } from '../../src/train/errors.js';
import { answerBytesRight, cellSamples, evaluateTask, formatEvalGrid } from '../../src/train/eval-task.js';
import { runTraining } from '../../src/train/run.js';
import { PasskeyTask } from '../../src/train/tasks/passkey.js';
import { tinyConfig } from '../train/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-eval-'));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * A stand-in model whose logits put 1 on a chosen byte at every position: `answer` reads the key
 * off the input (a perfect retriever) when its key needle lies within `reach` tokens of the end, and
 * guesses "0" otherwise.
 */
class ScriptedModel {
  readonly config: ModelConfig = {
    arch: 'llama', vocab_size: 256, max_seq_len: 4096, d_model: 8, n_layers: 1, n_heads: 1, n_kv_heads: 1,
    d_ff: 8, norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: true,
  };
  private logits = new Float32Array(0);
  forwards = 0;

  constructor(private readonly reach: number) {}

  forward(batch: TokenBatch): ForwardResult {
    this.forwards++;
    const { B, T } = batch;
    this.logits = new Float32Array(B * T * 256);
    for (let b = 0; b < B; b++) {
      const row = new TextDecoder().decode(Uint8Array.from(batch.tokens.subarray(b * T, (b + 1) * T)));
      const m = /pass key:(\d{5})\. /.exec(row);
      const key = m && T - m.index <= this.reach ? (m[1] as string) : '00000';
      // Answer byte j is predicted at input T - 5 + j; earlier positions predict a space.
      for (let t = 0; t < T; t++) {
        const j = t - (T - 5);
        this.logits[(b * T + t) * 256 + (j >= 0 ? key.charCodeAt(j) : 32)] = 1;
      }
    }
    return { lossSum: 0, count: 0 };
  }

  lastLogits(): Float32Array {
    return this.logits;
  }
}

const asModel = (m: ScriptedModel): CausalLM => m as unknown as CausalLM;

test('answerBytesRight counts argmax hits at the answer positions only', () => {
  const task = new PasskeyTask();
  const s = (cellSamples(task, 64, 0.5, 1, 3)[0]) as ReturnType<PasskeyTask['sample']>;
  const T = 64;
  const logits = new Float32Array(T * 256);
  // Right on the first three answer bytes, wrong on the last two.
  for (let a = s.answerStart; a < s.bytes.length; a++) {
    const k = a - s.answerStart;
    logits[(a - 1) * 256 + (k < 3 ? (s.bytes[a] as number) : 7)] = 2;
  }
  assert.equal(answerBytesRight(logits, 256, T, 0, s), 3);
});

test('evaluateTask: a perfect retriever scores 1, one that cannot reach the key scores 0, in a depths x lengths grid', () => {
  const task = new PasskeyTask();
  const perfect = evaluateTask(asModel(new ScriptedModel(1e9)), task, { lengths: [64, 256], depths: [0, 0.5, 1], samples: 4, seed: 1 });
  assert.deepEqual(perfect.accuracy, [[1, 1], [1, 1], [1, 1]]);
  assert.equal(perfect.cells.length, 6);
  // Reach 100 tokens: at length 256 the key is within reach only at depth 1, at 64 always.
  const short = evaluateTask(asModel(new ScriptedModel(100)), task, { lengths: [64, 256], depths: [0, 0.5, 1], samples: 4, seed: 1 });
  assert.deepEqual(short.accuracy, [[1, 0], [1, 0], [1, 1]]);
  for (const c of short.cells) {
    if (c.correct === 0) assert.ok(c.byteAccuracy < 0.5, `guessing "00000" gets few bytes right (${c.byteAccuracy})`);
  }
  const text = formatEvalGrid(short);
  assert.match(text, /depth \\ length\s+64\s+256/);
  assert.match(text, /0\.00\s+100%\s+0%/);
  assert.match(text, /mean\s+100%\s+33%/);
  assert.match(formatEvalGrid(short, 'bytes'), /^bytes: depth \\ length\s+64\s+256\n0\.00\s+100%/);
  // Batching: 16384 tokens per forward holds all 4 samples of a 256-token cell.
  const m = new ScriptedModel(1e9);
  evaluateTask(asModel(m), task, { lengths: [256], depths: [0.5], samples: 4, seed: 1, maxBatchTokens: 512 });
  assert.equal(m.forwards, 2, 'two samples of 256 tokens per forward');
});

test('evaluateTask refuses depths outside [0, 1], lengths too short or too long, and zero samples', () => {
  const task = new PasskeyTask();
  const m = asModel(new ScriptedModel(1e9));
  const o = { lengths: [64], depths: [0.5], samples: 2, seed: 1 };
  assert.throws(() => evaluateTask(m, task, { ...o, depths: [1.2] }), (e: Error) => e instanceof ConfigError && /depth 1.2 is outside \[0, 1\]/.test(e.message));
  assert.throws(() => evaluateTask(m, task, { ...o, lengths: [20] }), /length 20 is too short for task passkey: it needs at least 51/);
  assert.throws(() => evaluateTask(m, task, { ...o, lengths: [8192] }), /length 8192 is longer than this model can run \(at most 4096\)/);
  assert.throws(() => evaluateTask(m, task, { ...o, samples: 0 }), /--samples is 0; must be a positive integer/);
  assert.throws(() => evaluateTask(m, task, { ...o, lengths: [] }), /--lengths is empty/);
});

test('ulysses eval on a trained llama checkpoint: runs past max_seq_len, writes the JSON grid and the SVG chart', () => {
  const out = join(root, 'runs');
  const c = tinyConfig({
    'model.type': 'llama', 'model.max_seq_len': 64, 'data.seq_len': 64, 'data.corpus': 'task:passkey',
    'train.out_dir': out, 'train.run_name': 'pk', 'train.steps': 2,
  });
  runTraining(c, null, { log: () => {}, skipPeakMeasurement: true });
  const ckpt = join(out, 'pk', 'checkpoint');
  const lines: string[] = [];
  const json = join(root, 'pk.json');
  const chart = join(root, 'pk.svg');
  const flags = { checkpoint: ckpt, task: 'passkey', lengths: '64,128', depths: '0,1', samples: '3', seed: '1', kernels: 'native', threads: '1' };
  const rep = runEval({ ...flags, json, chart, label: 'tiny' }, (l) => lines.push(l));
  const disk = JSON.parse(readFileSync(json, 'utf8')) as EvalReport;
  assert.deepEqual(disk, rep);
  assert.equal(rep.label, 'tiny');
  assert.equal(rep.trained_seq_len, 64);
  assert.deepEqual(rep.lengths, [64, 128]);
  assert.deepEqual(rep.depths, [0, 1]);
  assert.equal(rep.accuracy.length, 2);
  for (const row of rep.accuracy) {
    assert.equal(row.length, 2);
    for (const a of row) assert.ok(a >= 0 && a <= 1);
  }
  // Two training steps cannot find a 5-digit key: the odds of a lucky exact match are 1e-5 a sample.
  assert.deepEqual(rep.accuracy, [[0, 0], [0, 0]]);
  assert.equal(rep.byte_accuracy.length, 2);
  rep.cells.forEach((c) => {
    const di = rep.depths.indexOf(c.depth);
    const li = rep.lengths.indexOf(c.length);
    assert.equal((rep.byte_accuracy[di] as number[])[li], c.byteAccuracy);
  });
  assert.ok(lines.some((l) => /mean\s+0%\s+0%/.test(l)), lines.join('\n'));
  const svg = readFileSync(chart, 'utf8');
  assert.ok(svg.startsWith('<svg'));
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 4, 'one cell per (depth, length)');
  assert.match(svg, /trained at 64 tokens/);
  // A second chart draws an earlier result beside this one.
  runEval({ ...flags, chart, compare: [json] }, () => {});
  assert.equal((readFileSync(chart, 'utf8').match(/<rect x=/g) ?? []).length, 8);
  runEval({ ...flags, chart, chartMetric: 'bytes' }, () => {});
  assert.match(readFileSync(chart, 'utf8'), /share of answer bytes right/);
  // Without a checkpoint, eval redraws earlier results only.
  const redrawn = join(root, 'redrawn.svg');
  const { checkpoint: _unused, ...noCheckpoint } = flags;
  chartEvalReports({ ...noCheckpoint, chart: redrawn, compare: [json, json], chartMetric: 'bytes' });
  assert.equal((readFileSync(redrawn, 'utf8').match(/<rect x=/g) ?? []).length, 8);
  assert.match(readFileSync(redrawn, 'utf8'), /share of answer bytes right/);
  assert.throws(() => chartEvalReports({ ...noCheckpoint, chart: redrawn }), /--checkpoint is required, unless --chart redraws earlier results given with --compare/);
  assert.throws(() => runEval({ ...flags, chartMetric: 'loss' }, () => {}), /--chart-metric must be "exact" or "bytes", got "loss"/);
  assert.throws(() => runEval({ ...flags, task: 'sudoku' }, () => {}), /unknown task "sudoku"; allowed: passkey, recall, copy/);
  assert.throws(() => runEval({ ...flags, depths: '0,x' }, () => {}), /--depths: "x" is not a number/);
  assert.throws(() => runEval({ ...flags, lengths: '64,1e3.5' }, () => {}), /--lengths: "1e3.5" is not an integer/);
});

test('ulysses eval refuses a GPT checkpoint beyond its learned positions', () => {
  const out = join(root, 'runs');
  const c = tinyConfig({ 'model.max_seq_len': 64, 'data.seq_len': 64, 'data.corpus': 'task:passkey', 'train.out_dir': out, 'train.run_name': 'gpt', 'train.steps': 1 });
  runTraining(c, null, { log: () => {}, skipPeakMeasurement: true });
  const flags = { checkpoint: join(out, 'gpt', 'checkpoint'), task: 'passkey', lengths: '64,128', depths: '0.5', samples: '1', seed: '1', kernels: 'native', threads: '1' };
  assert.throws(() => runEval(flags, () => {}), /learned positions up to max_seq_len 64; it cannot run 128 tokens/);
  const ok = runEval({ ...flags, lengths: '64', json: true }, () => {});
  assert.equal(ok.accuracy.length, 1);
});
