// The zigzag token layout of ring attention, and the hybrid (USP) layout built on it. With P ring
// members the sequence is cut into 2P equal chunks and member r holds chunks r and 2P−1−r, so
// under a causal mask every member does the same attention work (an early chunk sees little, its
// mirror sees much). In the hybrid layout every ring member's share (its two chunks, in order) is
// split contiguously over the U ranks of its ulysses group, the way Ulysses splits a sequence.
//
// Shape legend: N = full sequence, P = ring size, c = N/(2P) tokens per chunk, U = ulysses degree,
// R = ring degree, sp = U·R; sequence-parallel index s = ring·U + ulysses (src/dist/grid.ts).
import { offsetsOf, splitCounts } from '../ulysses/plan.js';

/** The refusal of every ring / hybrid size check; its message says which sizes would work. */
export class RingConfigError extends RangeError {
  override readonly name = 'RingConfigError';
}

/** A run of consecutive tokens [start, start + count). */
export interface TokenRange {
  readonly start: number;
  readonly count: number;
}

/** Refuses a ring of P members for sequences of N tokens unless N splits into 2P equal chunks. */
export function checkZigzagSizes(N: number, P: number): void {
  if (!Number.isInteger(P) || P < 1) throw new RingConfigError(`ring attention: ring size must be a positive integer, got ${P}`);
  if (!Number.isInteger(N) || N < 2 * P || N % (2 * P) !== 0) {
    throw new RingConfigError(
      `ring attention: the zigzag layout cuts the sequence into 2 x ring size = ${2 * P} equal chunks, ` +
        `but the sequence length ${N} is not a positive multiple of ${2 * P}; use a sequence length divisible by ${2 * P} ` +
        `or a ring size P with 2P dividing ${N}`,
    );
  }
}

/** The global chunk ids ring member r holds, in the order its tokens are stored: [r, 2P−1−r]. */
export function zigzagChunks(P: number, r: number): [number, number] {
  return [r, 2 * P - 1 - r];
}

/** The token ranges of ring member r in the zigzag layout: chunk r then chunk 2P−1−r. */
export function zigzagRanges(N: number, P: number, r: number): TokenRange[] {
  checkZigzagSizes(N, P);
  if (!Number.isInteger(r) || r < 0 || r >= P) throw new RangeError(`zigzagRanges: member ${r} outside a ring of ${P}`);
  const c = N / (2 * P);
  return zigzagChunks(P, r).map((id) => ({ start: id * c, count: c }));
}

/**
 * The token ranges sequence-parallel rank s holds in the hybrid layout (U = 1 gives the pure ring
 * layout): piece s % U, contiguous, of the zigzag share of ring member floor(s / U).
 */
export function uspRanges(N: number, U: number, R: number, s: number): TokenRange[] {
  if (!Number.isInteger(U) || U < 1) throw new RingConfigError(`hybrid attention: ulysses degree must be a positive integer, got ${U}`);
  if (!Number.isInteger(s) || s < 0 || s >= U * R) throw new RangeError(`uspRanges: rank ${s} outside ${U} x ${R} ranks`);
  const share = zigzagRanges(N, R, Math.floor(s / U));
  const n = N / R;
  if (n < U) {
    throw new RingConfigError(
      `hybrid attention: a ring member's share of ${n} tokens is split over ulysses degree ${U}, so some rank would hold no token; ` +
        `use a ulysses degree of at most ${n}`,
    );
  }
  const u = s % U;
  const lo = offsetsOf(splitCounts(n, U))[u] as number;
  const hi = lo + (splitCounts(n, U)[u] as number);
  // Positions [lo, hi) of the share, which is its first chunk followed by its second.
  const out: TokenRange[] = [];
  let at = 0;
  for (const r of share) {
    const a = Math.max(lo, at);
    const b = Math.min(hi, at + r.count);
    if (b > a) out.push({ start: r.start + (a - at), count: b - a });
    at += r.count;
  }
  return out;
}

/** Tokens of the ranges, in order, from every row of x[B, N, rowLen] into [B, n, rowLen]. */
export function gatherRanges<T extends Float32Array | Int32Array>(
  x: T, B: number, N: number, rowLen: number, ranges: readonly TokenRange[],
): T {
  const n = ranges.reduce((s, r) => s + r.count, 0);
  const out = new (x.constructor as new (len: number) => T)(B * n * rowLen); // [B, n, rowLen]
  for (let b = 0; b < B; b++) {
    let t = 0;
    for (const r of ranges) {
      out.set(x.subarray((b * N + r.start) * rowLen, (b * N + r.start + r.count) * rowLen), (b * n + t) * rowLen);
      t += r.count;
    }
  }
  return out;
}

/** The inverse of gatherRanges: writes piece[B, n, rowLen] back to its ranges of x[B, N, rowLen]. */
export function scatterRanges<T extends Float32Array | Int32Array>(
  x: T, piece: T, B: number, N: number, rowLen: number, ranges: readonly TokenRange[],
): void {
  const n = ranges.reduce((s, r) => s + r.count, 0);
  for (let b = 0; b < B; b++) {
    let t = 0;
    for (const r of ranges) {
      x.set(piece.subarray((b * n + t) * rowLen, (b * n + t + r.count) * rowLen), (b * N + r.start) * rowLen);
      t += r.count;
    }
  }
}
