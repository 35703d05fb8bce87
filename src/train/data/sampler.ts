// Train/validation split by position and seeded sampling of windows of seq_len + 1 tokens.
// Targets are shifted here, before any sequence sharding (targets[t] = window[t + 1]), so a
// shard boundary never loses a label; so are packed documents' ids and doc-relative positions.
import type { TokenBatch } from '../../nn/causal-lm.js';
import { DataError } from '../errors.js';
import { Rng } from '../rng.js';
import type { TokenSource } from './token-source.js';

/** Tokens [start, end) of a source. */
export interface TokenRange {
  start: number;
  end: number;
}

export interface DataSplit {
  train: TokenRange;
  /** Null when valFraction is 0. */
  val: TokenRange | null;
}

/** Holds out the last valFraction of the tokens; refuses splits too short for one window. */
export function splitTrainVal(source: TokenSource, valFraction: number, seqLen: number): DataSplit {
  const need = seqLen + 1;
  const valLen = Math.floor(source.length * valFraction);
  if (valFraction > 0 && valLen < need) {
    throw new DataError(
      `data.val_fraction ${valFraction} of ${source.description} (${source.length} tokens) is ${valLen} tokens, ` +
        `shorter than one window of data.seq_len + 1 = ${need}; raise data.val_fraction, lower data.seq_len, or set data.val_fraction to 0`,
    );
  }
  const trainLen = source.length - valLen;
  if (trainLen < need) {
    throw new DataError(
      `${source.description} has ${trainLen} training tokens, shorter than one window of data.seq_len + 1 = ${need}; ` +
        'use a longer corpus or a smaller data.seq_len',
    );
  }
  return { train: { start: 0, end: trainLen }, val: valFraction > 0 ? { start: trainLen, end: source.length } : null };
}

/**
 * Document packing: the separator token ends a document, so the token after it starts the next.
 * Null = windows are plain text spans (positions 0..T-1, attention across document boundaries).
 */
export interface PackOptions {
  separator: number;
}

/**
 * Document ids and positions of one window's T input tokens: the id counts the separators before a
 * token, and the position restarts at 0 on the token after each separator.
 */
export function packedIdsAndPositions(tokens: ArrayLike<number>, T: number, separator: number, docIds: Int32Array, positions: Int32Array): void {
  let doc = 0;
  let start = 0;
  for (let t = 0; t < T; t++) {
    if (t > 0 && tokens[t - 1] === separator) {
      doc++;
      start = t;
    }
    docIds[t] = doc;
    positions[t] = t - start;
  }
}

/** Builds a [B, T] batch from B windows of T + 1 tokens starting at `starts` (with document ids when packing). */
export function windowsToBatch(source: TokenSource, starts: readonly number[], T: number, pack: PackOptions | null = null): TokenBatch {
  const B = starts.length;
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const positions = new Int32Array(B * T);
  const docIds = pack ? new Int32Array(B * T) : null;
  const window = new Int32Array(T + 1);
  for (let b = 0; b < B; b++) {
    source.read(starts[b] as number, window);
    tokens.set(window.subarray(0, T), b * T);
    targets.set(window.subarray(1), b * T);
    if (pack && docIds) packedIdsAndPositions(window, T, pack.separator, docIds.subarray(b * T, (b + 1) * T), positions.subarray(b * T, (b + 1) * T));
    else for (let t = 0; t < T; t++) positions[b * T + t] = t;
  }
  return { B, T, tokens, targets, positions, docIds };
}

/** Uniformly random windows inside a range, reproducible from the seed and resumable from getState(). */
export class WindowSampler {
  private readonly rng: Rng;

  constructor(
    private readonly source: TokenSource,
    private readonly range: TokenRange,
    private readonly seqLen: number,
    private readonly batchSize: number,
    seed: number,
    private readonly pack: PackOptions | null = null,
  ) {
    if (range.end - range.start < seqLen + 1) throw new RangeError('WindowSampler: range shorter than one window');
    this.rng = new Rng(seed);
  }

  next(): TokenBatch {
    const span = this.range.end - this.range.start - this.seqLen;
    const starts: number[] = [];
    for (let b = 0; b < this.batchSize; b++) starts.push(this.range.start + this.rng.int(span));
    return windowsToBatch(this.source, starts, this.seqLen, this.pack);
  }

  getState(): number {
    return this.rng.getState();
  }

  setState(state: number): void {
    this.rng.setState(state);
  }
}

/**
 * The fixed validation set: count batches of evenly spaced windows across the range, the same
 * every time so validation losses are comparable across steps and runs.
 */
export function validationBatches(
  source: TokenSource, range: TokenRange, seqLen: number, batchSize: number, count: number, pack: PackOptions | null = null,
): TokenBatch[] {
  const n = batchSize * count;
  const span = range.end - range.start - (seqLen + 1);
  const starts: number[] = [];
  for (let i = 0; i < n; i++) starts.push(range.start + (n === 1 ? 0 : Math.floor((i * span) / (n - 1))));
  const out: TokenBatch[] = [];
  for (let c = 0; c < count; c++) out.push(windowsToBatch(source, starts.slice(c * batchSize, (c + 1) * batchSize), seqLen, pack));
  return out;
}
