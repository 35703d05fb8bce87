// Who holds what in a Ulysses group: the token shard of every rank (sequence layout) and the query
// and key/value heads every rank attends over (head layout), including the grouped-query routing
// that sends each rank exactly the kv heads its query heads read.
//
// Shape legend: N = full sequence length, P = sequence-parallel size, H = query heads,
// Hkv = key/value heads, g = H / Hkv query heads per kv head.
//   rank r holds tokens [tokenOffsets[r], +tokenCounts[r]) of every sequence before attention,
//   and query heads [heads[r].start, +heads[r].count), kv heads [kv[r].start, +kv[r].count) in it.

/** A contiguous range of heads (or tokens). */
export interface Span {
  readonly start: number;
  readonly count: number;
}

/** How a rank's local attention maps its query heads to the kv heads it received. */
export interface LocalKvMap {
  /**
   * True when local query head i reads local kv head floor(i / (m / kvCount)), the grouping the
   * kernels express; false when kv must be expanded to one head per query head first.
   */
  readonly uniform: boolean;
  /** For each local query head, the local kv head it reads. */
  readonly kvOf: readonly number[];
}

export interface UlyssesPlan {
  readonly P: number;
  readonly N: number;
  readonly H: number;
  readonly Hkv: number;
  readonly tokenCounts: readonly number[];
  readonly tokenOffsets: readonly number[];
  /** Query heads per rank, disjoint and covering [0, H). */
  readonly heads: readonly Span[];
  /** Kv heads per rank: the kv heads its query heads read (neighbouring ranks may share one). */
  readonly kv: readonly Span[];
  readonly kvMaps: readonly LocalKvMap[];
}

/** The refusal every Ulysses size check throws; its message says which sizes would work. */
export class UlyssesConfigError extends RangeError {
  override readonly name = 'UlyssesConfigError';
}

/** n split over P parts as evenly as possible, the first n % P parts one larger. */
export function splitCounts(n: number, P: number): number[] {
  const base = Math.floor(n / P);
  const extra = n % P;
  return Array.from({ length: P }, (_, j) => base + (j < extra ? 1 : 0));
}

/** Exclusive prefix sums of counts. */
export function offsetsOf(counts: readonly number[]): number[] {
  const out: number[] = [];
  let s = 0;
  for (const c of counts) {
    out.push(s);
    s += c;
  }
  return out;
}

/** Sequence-parallel sizes that work for a model with `heads` query heads and sequences of `seqLen` tokens. */
export function allowedSpSizes(heads: number, seqLen: number): string {
  const max = Math.min(heads, seqLen);
  return `1..${max} (at most n_heads = ${heads} and at most the sequence length ${seqLen})`;
}

/** Refuses group sizes Ulysses cannot use; the message names the limit and the allowed sizes. */
export function checkUlyssesSizes(P: number, N: number, H: number, Hkv: number): void {
  if (!Number.isInteger(P) || P < 1) throw new UlyssesConfigError(`ulysses: sequence-parallel size must be a positive integer, got ${P}`);
  if (!Number.isInteger(H) || !Number.isInteger(Hkv) || H < 1 || Hkv < 1 || H % Hkv !== 0) {
    throw new UlyssesConfigError(`ulysses: n_kv_heads (${Hkv}) must be a positive integer dividing n_heads (${H})`);
  }
  if (P > H) {
    throw new UlyssesConfigError(
      `ulysses: sequence-parallel size ${P} exceeds n_heads = ${H}, so some rank would hold no attention head; ` +
        `use a size in ${allowedSpSizes(H, N)}`,
    );
  }
  if (!Number.isInteger(N) || N < P) {
    throw new UlyssesConfigError(
      `ulysses: sequence length ${N} is shorter than the sequence-parallel size ${P}, so some rank would hold no token; ` +
        `use a size in ${allowedSpSizes(H, N)}`,
    );
  }
}

function localKvMap(h: Span, kv: Span, g: number): LocalKvMap {
  const kvOf = Array.from({ length: h.count }, (_, i) => Math.floor((h.start + i) / g) - kv.start);
  const ratio = h.count / kv.count;
  const uniform = Number.isInteger(ratio) && kvOf.every((j, i) => j === Math.floor(i / ratio));
  return { uniform, kvOf };
}

/** The plan of a Ulysses group of P ranks for sequences of N tokens with H query and Hkv kv heads. */
export function makeUlyssesPlan(P: number, N: number, H: number, Hkv: number): UlyssesPlan {
  checkUlyssesSizes(P, N, H, Hkv);
  const g = H / Hkv;
  const tokenCounts = splitCounts(N, P);
  const headCounts = splitCounts(H, P);
  const headOffsets = offsetsOf(headCounts);
  const heads = headCounts.map((count, r) => ({ start: headOffsets[r] as number, count }));
  // Rank r's query heads [h, h+m) read kv heads floor(h/g) .. floor((h+m-1)/g).
  const kv = heads.map((s) => {
    const first = Math.floor(s.start / g);
    const last = Math.floor((s.start + s.count - 1) / g);
    return { start: first, count: last - first + 1 };
  });
  const kvMaps = heads.map((s, r) => localKvMap(s, kv[r] as Span, g));
  return { P, N, H, Hkv, tokenCounts, tokenOffsets: offsetsOf(tokenCounts), heads, kv, kvMaps };
}
