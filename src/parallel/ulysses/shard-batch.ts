// The piece of a full batch one rank trains on: rows for its data-parallel rank, tokens for its
// sequence-parallel rank. Targets are shifted before slicing (the sampler does it), and positions
// stay global, so a shard boundary loses no label and RoPE / learned positions stay exact.
//
// Shape legend: B = rows, N = full sequence, n_r = tokens of sequence-parallel rank r.
import type { TokenBatch } from '../../nn/causal-lm.js';
import { offsetsOf, splitCounts } from './plan.js';

function sliceRows(a: Int32Array, N: number, b0: number, rows: number, t0: number, n: number): Int32Array {
  const out = new Int32Array(rows * n); // [rows, n]
  for (let b = 0; b < rows; b++) out.set(a.subarray((b0 + b) * N + t0, (b0 + b) * N + t0 + n), b * n);
  return out;
}

/** Rows [b0, b0 + rows) of batch [B, N]. */
export function batchRows(batch: TokenBatch, b0: number, rows: number): TokenBatch {
  return shardOf(batch, b0, rows, 0, batch.T);
}

/** Tokens [t0, t0 + n) of rows [b0, b0 + rows). */
function shardOf(batch: TokenBatch, b0: number, rows: number, t0: number, n: number): TokenBatch {
  const { B, T: N } = batch;
  if (b0 < 0 || rows < 1 || b0 + rows > B) throw new RangeError(`batch rows [${b0}, ${b0 + rows}) outside [0, ${B})`);
  if (t0 < 0 || n < 1 || t0 + n > N) throw new RangeError(`batch tokens [${t0}, ${t0 + n}) outside [0, ${N})`);
  const s = (a: Int32Array): Int32Array => sliceRows(a, N, b0, rows, t0, n);
  return {
    B: rows,
    T: n,
    tokens: s(batch.tokens),
    targets: batch.targets ? s(batch.targets) : null,
    positions: s(batch.positions),
    docIds: batch.docIds ? s(batch.docIds) : null,
  };
}

/** Sequence-parallel rank r's shard [B, n_r] of a full batch [B, N] split over P ranks (splitCounts). */
export function sequenceShard(batch: TokenBatch, P: number, r: number): TokenBatch {
  const counts = splitCounts(batch.T, P);
  const n = counts[r];
  if (n === undefined || n < 1) {
    throw new RangeError(`sequenceShard: rank ${r} of ${P} gets no token of a sequence of ${batch.T}`);
  }
  return shardOf(batch, 0, batch.B, offsetsOf(counts)[r] as number, n);
}
