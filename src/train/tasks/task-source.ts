// Training data from a generated task: batches whose targets are the answer bytes alone (every
// other target is -1, which the loss ignores), so the loss measures retrieval, not filler. A row
// holds one sample of the full length, or, with a minimum sample length, several samples of
// lengths drawn log-uniformly between it and the row length, packed with document ids so each
// attends only within itself and its positions start at 0: short samples teach the retrieval
// quickly, long ones make it work across the whole window. Packing rarely yields a sample near
// the full length, so a share of the rows can be kept whole to train the longest distances. The
// Rng's one-word state is the data position a checkpoint stores. A TaskTokenSource stands in for
// a corpus where the run reports and checks its data (it has no tokens to read).
//
// Shape legend: B = rows, T = row length, L = one sample's length (<= T).
import type { TokenBatch } from '../../nn/causal-lm.js';
import type { TokenSource } from '../data/token-source.js';
import { ConfigError } from '../errors.js';
import { Rng } from '../rng.js';
import type { BatchSource } from '../trainer.js';
import { checkDepth, checkTaskLength } from './registry.js';
import type { TaskGenerator, TaskSample } from './task-sample.js';

/**
 * Copies a sample of L = s.bytes.length - 1 tokens into row b of a [B, T] batch at column `at`:
 * inputs, positions from 0, document id `doc` (when the batch has ids), and targets on the answer
 * bytes only (every byte with allTargets).
 */
export function sampleIntoRow(s: TaskSample, T: number, b: number, batch: TokenBatch, at = 0, doc = 0, allTargets = false): void {
  const L = s.bytes.length - 1;
  const o = b * T + at;
  for (let t = 0; t < L; t++) {
    batch.tokens[o + t] = s.bytes[t] as number;
    batch.positions[o + t] = t;
    if (batch.docIds) batch.docIds[o + t] = doc;
    // Input t predicts byte t + 1: a target only when that byte is part of the answer (or always, with allTargets).
    if (batch.targets) batch.targets[o + t] = allTargets || t + 1 >= s.answerStart ? (s.bytes[t + 1] as number) : -1;
  }
}

/**
 * Lengths of the samples packed into one row of T tokens: log-uniform in [minLen, T], the last one
 * taking what is left (a remainder shorter than minLen joins the sample before it).
 */
export function packedLengths(rng: Rng, T: number, minLen: number): number[] {
  const out: number[] = [];
  let left = T;
  while (left > 0) {
    let L = Math.min(left, Math.round(minLen * Math.exp(rng.next() * Math.log(T / minLen))));
    if (left - L < minLen) L = left;
    out.push(L);
    left -= L;
  }
  return out;
}

export function emptyBatch(B: number, T: number): TokenBatch {
  return { B, T, tokens: new Int32Array(B * T), targets: new Int32Array(B * T), positions: new Int32Array(B * T), docIds: null };
}

/**
 * Whether row b is kept whole when a share of the rows is: floor(B * share) of B rows, spread
 * evenly (share 0.5 keeps rows 1, 3, 5, ...), so data-parallel ranks get their part of them.
 */
export function isWholeRow(b: number, share: number): boolean {
  return Math.floor((b + 1) * share) > Math.floor(b * share);
}

export interface TaskBatchOptions {
  /** null = one sample of T tokens per row; else rows packed with samples of minLen to T tokens. */
  minLen?: number | null;
  /** With minLen: the share of rows that hold one sample of T tokens all the same (0 to 1). */
  wholeShare?: number;
  /** "all" puts a target on every byte, the filler's included, not only the answer's. */
  loss?: 'answer' | 'all';
}

/** Endless training batches: every sample new, at a uniformly random depth. */
export class TaskBatchSource implements BatchSource {
  private readonly rng: Rng;
  private readonly minLen: number | null;
  private readonly wholeShare: number;
  private readonly loss: 'answer' | 'all';

  constructor(private readonly task: TaskGenerator, private readonly T: number, private readonly B: number, seed: number, options: TaskBatchOptions = {}) {
    this.minLen = options.minLen ?? null;
    this.wholeShare = options.wholeShare ?? 0;
    this.loss = options.loss ?? 'answer';
    checkTaskLength(task, T, 'data.seq_len');
    if (this.minLen !== null) {
      checkTaskLength(task, this.minLen, 'data.task_min_len');
      if (this.minLen > T) throw new ConfigError(`data.task_min_len ${this.minLen} is longer than data.seq_len ${T}; use at most ${T}, or null for one sample per row`);
    }
    if (!(this.wholeShare >= 0 && this.wholeShare <= 1)) throw new ConfigError(`data.task_whole_share ${this.wholeShare} is outside [0, 1]`);
    if (this.wholeShare > 0 && this.minLen === null) {
      throw new ConfigError(`data.task_whole_share ${this.wholeShare} needs packed rows: set data.task_min_len, or data.task_whole_share 0 (with task_min_len null every row is whole already)`);
    }
    this.rng = new Rng(seed);
  }

  next(): TokenBatch {
    const batch = emptyBatch(this.B, this.T);
    if (this.minLen !== null) batch.docIds = new Int32Array(this.B * this.T);
    for (let b = 0; b < this.B; b++) {
      const whole = this.minLen === null || isWholeRow(b, this.wholeShare);
      const lengths = whole ? [this.T] : packedLengths(this.rng, this.T, this.minLen as number);
      let at = 0;
      lengths.forEach((L, doc) => {
        sampleIntoRow(this.task.sample(this.rng, L, this.rng.next()), this.T, b, batch, at, doc, this.loss === 'all');
        at += L;
      });
    }
    return batch;
  }

  getState(): number {
    return this.rng.getState();
  }

  setState(state: number): void {
    this.rng.setState(state);
  }
}

/** Fixed validation batches: depths evenly spaced over [0, 1], from a seed of their own. */
export function taskValidationBatches(task: TaskGenerator, T: number, B: number, count: number, seed: number): TokenBatch[] {
  checkTaskLength(task, T, 'data.seq_len');
  const rng = new Rng(seed);
  const n = B * count;
  const out: TokenBatch[] = [];
  for (let c = 0; c < count; c++) {
    const batch = emptyBatch(B, T);
    for (let b = 0; b < B; b++) {
      const i = c * B + b;
      const depth = n === 1 ? 0.5 : i / (n - 1);
      checkDepth(depth);
      sampleIntoRow(task.sample(rng, T, depth), T, b, batch);
    }
    out.push(batch);
  }
  return out;
}

/**
 * Tokens a generated task counts as its "corpus" for the run header and the split checks: a
 * nominal 2^30 (there is no end to the samples), of which the last val_fraction is "held out".
 */
export const TASK_NOMINAL_TOKENS = 2 ** 30;

export class TaskTokenSource implements TokenSource {
  readonly length = TASK_NOMINAL_TOKENS;
  readonly vocabSize = 256;
  readonly documents = 0;
  readonly description: string;

  constructor(readonly task: TaskGenerator) {
    this.description = `task ${task.name} (generated samples, loss on the answer bytes only)`;
  }

  read(): void {
    throw new Error(`${this.description} has no token stream; training draws samples from TaskBatchSource`);
  }

  close(): void {}
}
