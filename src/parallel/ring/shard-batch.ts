// The piece of a [B, N] token batch a ring or hybrid rank trains on: its zigzag (or hybrid) token
// ranges of every row, with global positions, so RoPE and learned positions stay exact, and the
// inverse that reassembles a full batch from every rank's piece.
//
// Shape legend: B = rows, N = full sequence, n = tokens of one rank, U = ulysses degree,
// R = ring degree (U = 1: pure ring attention).
import type { TokenBatch } from '../../nn/causal-lm.js';
import { gatherRanges, scatterRanges, uspRanges } from './zigzag.js';

/** Sequence-parallel rank s's [B, n] piece of batch [B, N] in the hybrid layout (U = 1: zigzag). */
export function uspShard(batch: TokenBatch, U: number, R: number, s: number): TokenBatch {
  const { B, T: N } = batch;
  const ranges = uspRanges(N, U, R, s);
  const g = (a: Int32Array): Int32Array => gatherRanges(a, B, N, 1, ranges);
  return {
    B,
    T: ranges.reduce((t, r) => t + r.count, 0),
    tokens: g(batch.tokens),
    targets: batch.targets ? g(batch.targets) : null,
    positions: g(batch.positions),
    docIds: batch.docIds ? g(batch.docIds) : null,
  };
}

/** Ring member r's [B, 2N/(2P)] piece of batch [B, N]: chunks r and 2P−1−r of every row. */
export function zigzagShard(batch: TokenBatch, P: number, r: number): TokenBatch {
  return uspShard(batch, 1, P, r);
}

/** The full batch [B, N] from the pieces of sequence-parallel ranks 0..U·R−1 (uspShard's inverse). */
export function uspUnshard(pieces: readonly TokenBatch[], U: number, R: number): TokenBatch {
  if (pieces.length !== U * R) throw new RangeError(`uspUnshard: got ${pieces.length} pieces for ${U} x ${R} ranks`);
  const first = pieces[0] as TokenBatch;
  const B = first.B;
  const N = pieces.reduce((t, p) => t + p.T, 0);
  const full = (pick: (p: TokenBatch) => Int32Array | null): Int32Array | null => {
    if (pick(first) === null) return null;
    const out = new Int32Array(B * N); // [B, N]
    pieces.forEach((p, s) => scatterRanges(out, pick(p) as Int32Array, B, N, 1, uspRanges(N, U, R, s)));
    return out;
  };
  return {
    B, T: N,
    tokens: full((p) => p.tokens) as Int32Array,
    targets: full((p) => p.targets),
    positions: full((p) => p.positions) as Int32Array,
    docIds: full((p) => p.docIds),
  };
}
