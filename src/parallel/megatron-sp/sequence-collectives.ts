// The two collectives at the edges of Megatron-SP's tensor-parallel region: all-gather of the
// sequence shards [B, n_r, C] into the whole sequence [B, N, C], and reduce-scatter of partial sums
// [B, N, C] back into shards. A collective packs its chunks by rank, so with B > 1 the rows are
// staged through a rank-major buffer; with B = 1 both layouts coincide and nothing is copied.
//
// Shape legend: B = batch, N = full sequence, n_r = tokens of rank r (evenCounts(N, P)),
// C = channels, P = group size.
import type { CommHandle, Communicator } from '../../dist/communicator.js';
import type { Group } from '../../dist/group.js';
import { evenCounts, prefixOffsets } from '../../dist/collective-args.js';

export class SequenceCollectives {
  readonly tokenCounts: readonly number[]; // [P] n_r
  readonly tokenOffsets: readonly number[]; // [P]
  private stage = new Float32Array(0); // [P blocks of B * n_r * C] rank-major staging

  constructor(private readonly comm: Communicator, readonly group: Group, readonly N: number) {
    const P = group.ranks.length;
    if (N < P) throw new RangeError(`Megatron-SP: a sequence of ${N} tokens cannot be split over ${P} ranks; every rank needs a token`);
    // The split the data loader's sequence shards use (the first N % P ranks hold one more).
    this.tokenCounts = evenCounts(N, P);
    this.tokenOffsets = prefixOffsets(this.tokenCounts).slice(0, P);
  }

  /** Tokens this rank holds. */
  get local(): number {
    return this.tokenCounts[this.group.index] as number;
  }

  private staging(n: number): Float32Array {
    if (this.stage.length < n) this.stage = new Float32Array(n);
    return this.stage.subarray(0, n);
  }

  private counts(B: number, C: number): number[] {
    return this.tokenCounts.map((n) => B * n * C);
  }

  /** full[B, N, C] = every rank's local[B, n_r, C] placed at its token offset. */
  allGather(local: Float32Array, full: Float32Array, B: number, C: number): void {
    const { N } = this;
    const counts = this.counts(B, C);
    if (B === 1) {
      this.comm.allGather(local.subarray(0, this.local * C), full.subarray(0, N * C), this.group, counts);
      return;
    }
    const st = this.staging(B * N * C); // [P][B, n_r, C]
    this.comm.allGather(local.subarray(0, B * this.local * C), st, this.group, counts);
    let at = 0;
    this.tokenCounts.forEach((n, r) => {
      const off = this.tokenOffsets[r] as number;
      for (let b = 0; b < B; b++, at += n * C) full.set(st.subarray(at, at + n * C), (b * N + off) * C);
    });
  }

  /**
   * [B, N] integers (document ids, positions) from every rank's [B, n_r]: they travel as fp32,
   * exact for magnitudes up to 2^24.
   */
  allGatherIds(local: Int32Array, B: number, what: string): Int32Array {
    if (local.length !== B * this.local) throw new RangeError(`${what}: this rank's shard has ${local.length} ids, expected B*n = ${B}*${this.local}`);
    const send = new Float32Array(local.length); // [B, n_me]
    for (let i = 0; i < local.length; i++) {
      const id = local[i] as number;
      if (!(Math.abs(id) <= 2 ** 24)) throw new RangeError(`${what}[${i}] = ${id}: Megatron-SP sends them as fp32, so they must lie in [-2^24, 2^24]`);
      send[i] = id;
    }
    const full = new Float32Array(B * this.N); // [B, N]
    this.allGather(send, full, B, 1);
    return Int32Array.from(full);
  }

  /** local[B, n_me, C] = this rank's tokens of the sum over ranks of full[B, N, C]. */
  reduceScatter(full: Float32Array, local: Float32Array, B: number, C: number): void {
    this.reduceScatterAsync(full, local, B, C).waitSync();
  }

  /**
   * reduceScatter started, so that work not touching full, local or the staging buffer (weight
   * gradients) overlaps it; nothing else may use this object's collectives until it completes.
   */
  reduceScatterAsync(full: Float32Array, local: Float32Array, B: number, C: number): CommHandle {
    const { N } = this;
    const counts = this.counts(B, C);
    const out = local.subarray(0, B * this.local * C);
    if (B === 1) return this.comm.reduceScatterAsync(full.subarray(0, N * C), out, this.group, 'sum', counts);
    const st = this.staging(B * N * C); // [P][B, n_r, C]
    let at = 0;
    this.tokenCounts.forEach((n, r) => {
      const off = this.tokenOffsets[r] as number;
      for (let b = 0; b < B; b++, at += n * C) st.set(full.subarray((b * N + off) * C, (b * N + off + n) * C), at);
    });
    return this.comm.reduceScatterAsync(st, out, this.group, 'sum', counts);
  }
}
