// Exact-match accuracy of a model on a generated task, by sequence length and depth. Each sample is
// one teacher-forced forward pass: the answer is right when the argmax of the logits at every
// answer position is the answer byte. For exact match this equals greedy decoding, which feeds back
// exactly those bytes as long as each is right, and no cheaper.
//
// Shape legend: B = samples per forward, T = sequence length, V = vocabulary.
import type { CausalLM } from '../nn/causal-lm.js';
import { ConfigError } from './errors.js';
import { Rng } from './rng.js';
import { checkDepth, checkTaskLength } from './tasks/registry.js';
import type { TaskGenerator, TaskSample } from './tasks/task-sample.js';
import { emptyBatch, sampleIntoRow } from './tasks/task-source.js';

export interface EvalOptions {
  lengths: readonly number[];
  depths: readonly number[];
  /** Samples per (length, depth) cell. */
  samples: number;
  seed: number;
  /** Most tokens (B·T) in one forward, to bound activation memory (default 16384). */
  maxBatchTokens?: number;
  /** Called after each finished cell. */
  onCell?: (cell: EvalCell) => void;
}

export interface EvalCell {
  length: number;
  depth: number;
  /** Samples whose every answer byte was predicted. */
  correct: number;
  samples: number;
  /** Answer bytes predicted right, over all answer bytes of the cell. */
  byteAccuracy: number;
}

export interface EvalGrid {
  task: string;
  lengths: number[];
  depths: number[];
  samples: number;
  seed: number;
  /** accuracy[d][l]: exact-match share at depths[d], lengths[l]. */
  accuracy: number[][];
  /** byte_accuracy[d][l]: share of answer bytes predicted right (partial credit; chance is about 1/10 for digits). */
  byte_accuracy: number[][];
  cells: EvalCell[];
}

/** The seed of one cell, from the length and depth values, so a cell's samples do not depend on which others run. */
export function cellSeed(seed: number, length: number, depth: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ length, 0xc2b2ae35) >>> 0;
  h = Math.imul(h ^ Math.round(depth * 1e6), 0x27d4eb2f) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

/** The samples of one cell, as evaluation draws them. */
export function cellSamples(task: TaskGenerator, length: number, depth: number, samples: number, seed: number): TaskSample[] {
  const rng = new Rng(cellSeed(seed, length, depth));
  const out: TaskSample[] = [];
  for (let i = 0; i < samples; i++) out.push(task.sample(rng, length, depth));
  return out;
}

/** Answer bytes whose argmax is right, in row b of [B, T, V] logits. */
export function answerBytesRight(logits: Float32Array, V: number, T: number, b: number, s: TaskSample): number {
  let right = 0;
  for (let a = s.answerStart; a < s.bytes.length; a++) {
    // Input position a - 1 predicts byte a.
    const row = logits.subarray((b * T + a - 1) * V, (b * T + a) * V);
    let best = 0;
    for (let v = 1; v < V; v++) if ((row[v] as number) > (row[best] as number)) best = v;
    if (best === s.bytes[a]) right++;
  }
  return right;
}

/** Refuses lengths, depths and sample counts the task cannot evaluate, naming what is allowed. */
export function checkEvalOptions(task: TaskGenerator, o: EvalOptions, maxLength: number): void {
  if (o.lengths.length === 0) throw new ConfigError('--lengths is empty; give at least one sequence length');
  if (o.depths.length === 0) throw new ConfigError('--depths is empty; give at least one depth in [0, 1]');
  for (const l of o.lengths) {
    checkTaskLength(task, l, '--lengths: length');
    if (l > maxLength) throw new ConfigError(`--lengths: length ${l} is longer than this model can run (at most ${maxLength})`);
  }
  for (const d of o.depths) checkDepth(d);
  if (!Number.isInteger(o.samples) || o.samples < 1) throw new ConfigError(`--samples is ${o.samples}; must be a positive integer`);
}

/** Evaluates every (length, depth) cell; the model must accept sequences of the longest length. */
export function evaluateTask(model: CausalLM, task: TaskGenerator, o: EvalOptions): EvalGrid {
  checkEvalOptions(task, o, model.config.max_seq_len);
  const V = model.config.vocab_size;
  const accuracy = o.depths.map(() => o.lengths.map(() => 0));
  const byteAcc = o.depths.map(() => o.lengths.map(() => 0));
  const cells: EvalCell[] = [];
  o.lengths.forEach((T, li) => {
    const B = Math.max(1, Math.min(o.samples, Math.floor((o.maxBatchTokens ?? 16384) / T)));
    o.depths.forEach((depth, di) => {
      const samples = cellSamples(task, T, depth, o.samples, o.seed);
      let correct = 0;
      let bytesRight = 0;
      let bytes = 0;
      for (let i = 0; i < samples.length; i += B) {
        const chunk = samples.slice(i, i + B);
        const batch = emptyBatch(chunk.length, T);
        chunk.forEach((s, b) => sampleIntoRow(s, T, b, batch));
        model.forward({ ...batch, targets: null });
        const logits = model.lastLogits();
        chunk.forEach((s, b) => {
          const n = s.bytes.length - s.answerStart;
          const right = answerBytesRight(logits, V, T, b, s);
          bytesRight += right;
          bytes += n;
          if (right === n) correct++;
        });
      }
      const cell: EvalCell = { length: T, depth, correct, samples: samples.length, byteAccuracy: bytes > 0 ? bytesRight / bytes : 0 };
      (accuracy[di] as number[])[li] = correct / samples.length;
      (byteAcc[di] as number[])[li] = cell.byteAccuracy;
      cells.push(cell);
      o.onCell?.(cell);
    });
  });
  return { task: task.name, lengths: [...o.lengths], depths: [...o.depths], samples: o.samples, seed: o.seed, accuracy, byte_accuracy: byteAcc, cells };
}

export type EvalMetric = 'exact' | 'bytes';

/** The grid of a metric: exact match, or the share of answer bytes right. */
export function metricGrid(g: EvalGrid, metric: EvalMetric): number[][] {
  return metric === 'exact' ? g.accuracy : g.byte_accuracy;
}

/** The grid as text: one row per depth, one column per length, percentages of the metric. */
export function formatEvalGrid(g: EvalGrid, metric: EvalMetric = 'exact'): string {
  const acc = metricGrid(g, metric);
  const head = [metric === 'exact' ? 'depth \\ length' : 'bytes: depth \\ length', ...g.lengths.map(String)];
  const rows = g.depths.map((d, di) => [d.toFixed(2), ...g.lengths.map((_, li) => `${Math.round(((acc[di] as number[])[li] as number) * 100)}%`)]);
  const mean = g.lengths.map((_, li) => g.depths.reduce((s, _d, di) => s + ((acc[di] as number[])[li] as number), 0) / g.depths.length);
  rows.push(['mean', ...mean.map((m) => `${Math.round(m * 100)}%`)]);
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length)));
  return all.map((r) => r.map((x, i) => (i === 0 ? x.padEnd(widths[i] as number) : x.padStart(widths[i] as number))).join('  ')).join('\n');
}
