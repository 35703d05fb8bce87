// RingAttention: ring attention (context parallelism) over a ring group in the zigzag layout. Each
// member keeps its queries and passes key/value blocks around the ring: at step s it attends to
// the block of member r−s while the next block travels (sendRecvAsync), and merges the partial
// outputs by log-sum-exp. Backward walks the ring again, recomputing each block's share of the
// gradient from the final out and lse, and passes dk/dv accumulators along with the blocks so
// that after P hops every accumulator is back with the member that owns its block.
// Causality is decided per chunk pair: an earlier key chunk is fully visible, the same chunk is
// causal, a later chunk is skipped. Document masks, windows and block layouts are refused.
//
// Shape legend: B = batch, T = 2c tokens this member holds (chunks r and 2P−1−r, c tokens each),
// P = ring size, H / Hkv = query / kv heads, D = head size, blk = B·c·Hkv·D.
//   kv buffer (what travels): [k chunk 0, k chunk 1, v chunk 0, v chunk 1], each [B,c,Hkv,D]
import type { AttentionCore, AttentionSaved } from '../../attention/attention-core.js';
import type { CommHandle, Communicator } from '../../dist/communicator.js';
import { describeGroup, type Group } from '../../dist/group.js';
import type { AttentionMaskSpec, AttentionShape, Kernels } from '../../kernels/kernels.js';
import { blockAttentionBackward } from './block-backward.js';
import { addInto, mergeBlock } from './merge.js';
import { gatherRanges, RingConfigError, scatterRanges, zigzagChunks, type TokenRange } from './zigzag.js';

interface RingSaved extends AttentionSaved {
  readonly owner: RingAttention;
  readonly causal: boolean;
  readonly q: readonly Float32Array[]; // 2 x [B,c,H,D]
  readonly kv: Float32Array; // [4][B,c,Hkv,D]
  readonly out: readonly Float32Array[]; // 2 x [B,c,H,D]
  readonly lse: readonly Float32Array[]; // 2 x [B,H,c]
}

type Visibility = 'full' | 'causal' | 'skip';

/** What query chunk qc may see of key chunk kc (global chunk ids). */
function visibility(qc: number, kc: number, causal: boolean): Visibility {
  if (!causal || kc < qc) return 'full';
  return kc === qc ? 'causal' : 'skip';
}

/** Refuses masks ring attention cannot split by chunk pairs; the message names the alternative. */
export function checkRingMask(mask: AttentionMaskSpec): void {
  const what = mask.docIds ? 'document masks (docIds)' : (mask.window ?? 0) > 0 ? 'sliding windows' : mask.blockLayout ? 'block-sparse layouts' : null;
  if (what) {
    throw new RingConfigError(
      `ring attention supports causal and full attention only, not ${what}; use sequence_parallel.mode "ulysses" for them`,
    );
  }
}

export class RingAttention implements AttentionCore {
  constructor(
    private readonly kernels: Kernels,
    private readonly comm: Communicator,
    private readonly group: Group,
  ) {}

  private halves(T: number): TokenRange[] {
    if (T < 2 || T % 2 !== 0) {
      throw new RingConfigError(
        `RingAttention: member ${this.group.index} of ${describeGroup(this.group)} got ${T} tokens; the zigzag layout gives ` +
          'every member two equal chunks, so T must be even (shard batches with zigzagShard / uspShard)',
      );
    }
    return [{ start: 0, count: T / 2 }, { start: T / 2, count: T / 2 }];
  }

  forward(
    out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    shape: AttentionShape, mask: AttentionMaskSpec,
  ): AttentionSaved {
    checkRingMask(mask);
    const { B, T, H, Hkv, D } = shape;
    const halves = this.halves(T);
    const c = T / 2;
    const P = this.group.ranks.length;
    const me = this.group.index;
    const scale = 1 / Math.sqrt(D);
    const blk = B * c * Hkv * D;
    const qc = halves.map((h) => gatherRanges(q, B, T, H * D, [h])); // 2 x [B,c,H,D]
    const kvOwn = new Float32Array(4 * blk); // [4][B,c,Hkv,D]
    halves.forEach((h, j) => {
      kvOwn.set(gatherRanges(k, B, T, Hkv * D, [h]), j * blk);
      kvOwn.set(gatherRanges(v, B, T, Hkv * D, [h]), (2 + j) * blk);
    });
    const acc = [0, 1].map(() => new Float64Array(B * c * H * D)); // 2 x [B,c,H,D]
    const lseAcc = [0, 1].map(() => new Float64Array(B * H * c).fill(-Infinity)); // 2 x [B,H,c]
    const oB = new Float32Array(B * c * H * D); // [B,c,H,D] one block's output
    const lB = new Float32Array(B * H * c); // [B,H,c] one block's lse
    const mine = zigzagChunks(P, me);
    const blockShape: AttentionShape = { B, T: c, H, Hkv, D };
    let cur: Float32Array = kvOwn;
    for (let s = 0; s < P; s++) {
      let next: Float32Array | null = null;
      let h: CommHandle | null = null;
      if (s < P - 1) {
        next = new Float32Array(4 * blk); // [4][B,c,Hkv,D] the block of member me−s−1
        h = this.comm.sendRecvAsync(cur, this.group.next, next, this.group.prev, this.group);
      }
      const theirs = zigzagChunks(P, (me - s + P) % P);
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          const vis = visibility(mine[i] as number, theirs[j] as number, mask.causal);
          if (vis === 'skip') continue;
          const kj = cur.subarray(j * blk, (j + 1) * blk);
          const vj = cur.subarray((2 + j) * blk, (3 + j) * blk);
          this.kernels.attention_forward(oB, lB, qc[i] as Float32Array, kj, vj, blockShape, { causal: vis === 'causal', docIds: null }, scale);
          mergeBlock(acc[i] as Float64Array, lseAcc[i] as Float64Array, oB, lB, B, c, H, D);
          h?.test(); // lets a backend that progresses only inside calls (MPI) move the next block meanwhile
        }
      }
      if (h && next) {
        h.waitSync();
        cur = next;
      }
    }
    const outc = acc.map((a) => Float32Array.from(a)); // 2 x [B,c,H,D]
    const lsec = lseAcc.map((a) => Float32Array.from(a)); // 2 x [B,H,c]
    halves.forEach((h, i) => scatterRanges(out, outc[i] as Float32Array, B, T, H * D, [h]));
    const saved: RingSaved = { owner: this, shape: { ...shape }, causal: mask.causal, q: qc, kv: kvOwn, out: outc, lse: lsec };
    return saved;
  }

  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, saved: AttentionSaved): void {
    const s0 = saved as Partial<RingSaved>;
    if (s0.owner !== this) throw new Error('RingAttention.backward: saved state comes from another attention core');
    const { shape, causal, q: qc, kv: kvOwn, out: outc, lse: lsec } = s0 as RingSaved;
    const { B, T, H, Hkv, D } = shape;
    const halves = this.halves(T);
    const c = T / 2;
    const P = this.group.ranks.length;
    const me = this.group.index;
    const scale = 1 / Math.sqrt(D);
    const blk = B * c * Hkv * D;
    const doutc = halves.map((h) => gatherRanges(dout, B, T, H * D, [h])); // 2 x [B,c,H,D]
    const dqAcc = [0, 1].map(() => new Float32Array(B * c * H * D)); // 2 x [B,c,H,D]
    const dqB = new Float32Array(B * c * H * D); // [B,c,H,D] one block pair's dq
    const dkB = new Float32Array(blk); // [B,c,Hkv,D]
    const dvB = new Float32Array(blk); // [B,c,Hkv,D]
    const mine = zigzagChunks(P, me);
    const blockShape: AttentionShape = { B, T: c, H, Hkv, D };
    let cur: Float32Array = kvOwn;
    let dkvIn: Float32Array | null = null; // [4][B,c,Hkv,D] the accumulator arriving from prev
    let hd: CommHandle | null = null;
    let mineBack: Float32Array | null = null;
    for (let s = 0; s < P; s++) {
      let next: Float32Array | null = null;
      let hk: CommHandle | null = null;
      if (s < P - 1) {
        next = new Float32Array(4 * blk); // [4][B,c,Hkv,D]
        hk = this.comm.sendRecvAsync(cur, this.group.next, next, this.group.prev, this.group);
      }
      const theirs = zigzagChunks(P, (me - s + P) % P);
      const contrib = new Float32Array(4 * blk); // [dk chunk 0, dk chunk 1, dv chunk 0, dv chunk 1] of this block
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          const vis = visibility(mine[i] as number, theirs[j] as number, causal);
          if (vis === 'skip') continue;
          const kj = cur.subarray(j * blk, (j + 1) * blk);
          const vj = cur.subarray((2 + j) * blk, (3 + j) * blk);
          blockAttentionBackward(
            this.kernels, dqB, dkB, dvB, doutc[i] as Float32Array, qc[i] as Float32Array, kj, vj,
            outc[i] as Float32Array, lsec[i] as Float32Array, blockShape, vis === 'causal', scale,
          );
          addInto(dqAcc[i] as Float32Array, dqB);
          addInto(contrib.subarray(j * blk, (j + 1) * blk), dkB);
          addInto(contrib.subarray((2 + j) * blk, (3 + j) * blk), dvB);
          hk?.test();
          hd?.test();
        }
      }
      // The accumulator of this block so far (from the members before) joins this member's share.
      if (hd && dkvIn) {
        hd.waitSync();
        addInto(contrib, dkvIn);
      }
      if (P === 1) {
        mineBack = contrib;
      } else {
        dkvIn = new Float32Array(4 * blk); // [4][B,c,Hkv,D]
        hd = this.comm.sendRecvAsync(contrib, this.group.next, dkvIn, this.group.prev, this.group);
      }
      if (hk && next) {
        hk.waitSync();
        cur = next;
      }
    }
    if (hd && dkvIn) {
      hd.waitSync();
      mineBack = dkvIn;
    }
    const own = mineBack as Float32Array;
    halves.forEach((h, i) => {
      scatterRanges(dq, dqAcc[i] as Float32Array, B, T, H * D, [h]);
      scatterRanges(dk, own.subarray(i * blk, (i + 1) * blk), B, T, Hkv * D, [h]);
      scatterRanges(dv, own.subarray((2 + i) * blk, (3 + i) * blk), B, T, Hkv * D, [h]);
    });
  }
}
