// DistributedAttention: Ulysses sequence parallelism around any local attention core. Forward
// turns q, k, v from this rank's token shard of every head into the whole sequence for this rank's
// heads (one all-to-all each), runs the local core unchanged, and turns the output back; backward
// mirrors it. Uneven token and head splits and grouped-query kv routing come from the plan. Every
// mask condition (causal, documents, sliding window, block layouts) reaches the local core as it
// would on one worker, because the local core sees the whole sequence (local-mask.ts).
//
// Shape legend: B = batch, n = tokens this rank holds, N = full sequence, H / Hkv = query / kv
// heads, m = query heads of this rank, kv = kv heads of this rank, D = head size.
import type { AttentionCore, AttentionSaved } from '../../attention/attention-core.js';
import type { Communicator } from '../../dist/communicator.js';
import { describeGroup, type Group } from '../../dist/group.js';
import type { AttentionMaskSpec, AttentionShape } from '../../kernels/kernels.js';
import { gatherDocIds } from './doc-ids.js';
import { headToSeqStart, seqToHeadStart, type A2ALayout, type PendingA2A } from './layouts.js';
import { checkUlyssesMask, localUlyssesMask } from './local-mask.js';
import { makeUlyssesPlan, type Span, type UlyssesPlan } from './plan.js';
import type { WireDtype } from './wire.js';

export interface DistributedAttentionOptions {
  /** Full sequence length N; the token shards follow splitCounts(N, P). Changeable with setSeqLen. */
  seqLen: number;
  /**
   * Element type of the q, k, v, out all-to-alls and their gradients' (default fp32). bf16 halves
   * the bytes; every rank of the group must choose the same.
   */
  wire?: WireDtype;
}

interface DistSaved extends AttentionSaved {
  readonly owner: DistributedAttention;
  readonly inner: AttentionSaved;
  readonly q: A2ALayout;
  readonly kv: A2ALayout;
  /** For each local query head, the local kv head it reads; null when the kernel's grouping fits. */
  readonly expand: readonly number[] | null;
  readonly kvHeads: number;
}

/** k and v in flight between beginKV and forward. */
interface PendingKV {
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly shape: AttentionShape;
  readonly mask: AttentionMaskSpec;
  readonly plan: UlyssesPlan;
  readonly kvL: A2ALayout;
  readonly docIds: Int32Array | null;
  readonly kh: Float32Array;
  readonly vh: Float32Array;
  readonly pk: PendingA2A;
  readonly pv: PendingA2A;
}

/** dout in flight between beginBackward and backward. */
interface PendingDout {
  readonly dout: Float32Array;
  readonly saved: AttentionSaved;
  readonly douth: Float32Array;
  readonly pending: PendingA2A;
}

export class DistributedAttention implements AttentionCore {
  private seqLen: number;
  private readonly wire: WireDtype;
  private plan: UlyssesPlan | null = null;
  private pendingKV: PendingKV | null = null;
  private pendingDout: PendingDout | null = null;

  constructor(
    private readonly local: AttentionCore,
    private readonly comm: Communicator,
    private readonly group: Group,
    options: DistributedAttentionOptions,
  ) {
    this.seqLen = options.seqLen;
    this.wire = options.wire ?? 'fp32';
  }

  /** Sets the full sequence length of the following batches (every rank of the group must agree). */
  setSeqLen(N: number): void {
    this.seqLen = N;
  }

  /** The plan for the current sequence length and these head counts (cached). */
  planFor(H: number, Hkv: number): UlyssesPlan {
    const p = this.plan;
    if (p && p.N === this.seqLen && p.H === H && p.Hkv === Hkv) return p;
    this.plan = makeUlyssesPlan(this.group.ranks.length, this.seqLen, H, Hkv);
    return this.plan;
  }

  /**
   * Checks the batch and mask, gathers document ids and starts the k and v all-to-alls, so that a
   * block can compute its q projection while they travel; forward finishes them.
   */
  beginKV(k: Float32Array, v: Float32Array, shape: AttentionShape, mask: AttentionMaskSpec): void {
    if (this.pendingKV) throw new Error('DistributedAttention.beginKV: the previous beginKV was not followed by forward');
    const { B, T, H, Hkv, D } = shape;
    const plan = this.planFor(H, Hkv);
    const me = this.group.index;
    const n = plan.tokenCounts[me] as number;
    if (T !== n) {
      throw new RangeError(
        `DistributedAttention: rank ${me} of ${describeGroup(this.group)} got ${T} tokens, but a sequence of ${plan.N} ` +
          `split over ${plan.P} ranks gives it ${n}; shard batches with the same sequence length (setSeqLen)`,
      );
    }
    const N = plan.N;
    checkUlyssesMask(mask, N, H, n);
    const kvc = (plan.kv[me] as { count: number }).count;
    const base = { B, D, tokenCounts: plan.tokenCounts, tokenOffsets: plan.tokenOffsets, wire: this.wire };
    const kvL: A2ALayout = { ...base, Hs: Hkv, spans: plan.kv };
    const docIds = mask.docIds ? gatherDocIds(this.comm, this.group, mask.docIds, B, plan.tokenCounts) : null; // [B, N]
    const kh = new Float32Array(B * N * kvc * D); // [B, N, kv, D]
    const vh = new Float32Array(B * N * kvc * D); // [B, N, kv, D]
    const pk = seqToHeadStart(this.comm, this.group, kvL, kh, k);
    const pv = seqToHeadStart(this.comm, this.group, kvL, vh, v);
    this.pendingKV = { k, v, shape: { ...shape }, mask, plan, kvL, docIds, kh, vh, pk, pv };
  }

  forward(
    out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    shape: AttentionShape, mask: AttentionMaskSpec,
  ): AttentionSaved {
    // Without a staged caller, k and v start here, so every rank issues the same collectives in the same order.
    if (!this.pendingKV) this.beginKV(k, v, shape, mask);
    const p = this.pendingKV as PendingKV;
    this.pendingKV = null;
    if (p.k !== k || p.v !== v || p.mask !== mask || !sameShape(p.shape, shape)) {
      throw new Error('DistributedAttention.forward: k, v, shape or mask differ from those given to beginKV');
    }
    const { B, H, D } = shape;
    const { plan, kvL, docIds, kh, vh } = p;
    const me = this.group.index;
    const N = plan.N;
    const mySpan = plan.heads[me] as Span;
    const m = mySpan.count;
    const kvc = (plan.kv[me] as { count: number }).count;
    const qL: A2ALayout = { ...kvL, Hs: H, spans: plan.heads };
    const qh = new Float32Array(B * N * m * D); // [B, N, m, D]
    // k and v, started first, travel while q is packed and sent: a rank waiting on one advances all three.
    const pq = seqToHeadStart(this.comm, this.group, qL, qh, q);
    pq.finish();
    p.pk.finish();
    p.pv.finish();
    const map = plan.kvMaps[me] as { uniform: boolean; kvOf: readonly number[] };
    const expand = map.uniform ? null : map.kvOf;
    const kLocal = expand ? expandHeads(kh, expand, B * N, kvc, D) : kh; // [B, N, kv or m, D]
    const vLocal = expand ? expandHeads(vh, expand, B * N, kvc, D) : vh; // [B, N, kv or m, D]
    const outh = new Float32Array(B * N * m * D); // [B, N, m, D]
    const localShape: AttentionShape = { B, T: N, H: m, Hkv: expand ? m : kvc, D };
    const inner = this.local.forward(outh, qh, kLocal, vLocal, localShape, localUlyssesMask(mask, docIds, mySpan));
    headToSeqStart(this.comm, this.group, qL, out, outh).finish();
    const saved: DistSaved = { owner: this, shape: { ...shape }, inner, q: qL, kv: kvL, expand, kvHeads: kvc };
    return saved;
  }

  /** Starts the dout all-to-all, so that a block can compute a weight gradient while it travels; backward finishes it. */
  beginBackward(dout: Float32Array, saved: AttentionSaved): void {
    if (this.pendingDout) throw new Error('DistributedAttention.beginBackward: the previous beginBackward was not followed by backward');
    const s = saved as Partial<DistSaved>;
    if (s.owner !== this) throw new Error('DistributedAttention.backward: saved state comes from another attention core');
    const qL = (s as DistSaved).q;
    const N = qL.tokenCounts.reduce((a, b) => a + b, 0);
    const m = (qL.spans[this.group.index] as { count: number }).count;
    const douth = new Float32Array(qL.B * N * m * qL.D); // [B, N, m, D]
    this.pendingDout = { dout, saved, douth, pending: seqToHeadStart(this.comm, this.group, qL, douth, dout) };
  }

  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, saved: AttentionSaved): void {
    if (!this.pendingDout) this.beginBackward(dout, saved);
    const p = this.pendingDout as PendingDout;
    this.pendingDout = null;
    if (p.dout !== dout || p.saved !== saved) {
      throw new Error('DistributedAttention.backward: dout or saved differ from those given to beginBackward');
    }
    const { inner, q: qL, kv: kvL, expand, kvHeads: kvc } = saved as DistSaved;
    const { B, D } = qL;
    const me = this.group.index;
    const N = qL.tokenCounts.reduce((a, b) => a + b, 0);
    const m = (qL.spans[me] as { count: number }).count;
    const douth = p.douth; // [B, N, m, D]
    p.pending.finish();
    const kLocalHeads = expand ? m : kvc;
    const dqh = new Float32Array(B * N * m * D); // [B, N, m, D]
    const dkLocal = new Float32Array(B * N * kLocalHeads * D); // [B, N, kv or m, D]
    const dvLocal = new Float32Array(B * N * kLocalHeads * D); // [B, N, kv or m, D]
    this.local.backward(dqh, dkLocal, dvLocal, douth, inner);
    const pq = headToSeqStart(this.comm, this.group, qL, dq, dqh);
    // The expanded copies' gradients fold back onto the kv heads they were copied from.
    const dkh = expand ? reduceHeads(dkLocal, expand, B * N, kvc, D) : dkLocal; // [B, N, kv, D]
    const dvh = expand ? reduceHeads(dvLocal, expand, B * N, kvc, D) : dvLocal; // [B, N, kv, D]
    const pk = headToSeqStart(this.comm, this.group, kvL, dk, dkh);
    const pv = headToSeqStart(this.comm, this.group, kvL, dv, dvh);
    pq.finish();
    pk.finish();
    pv.finish();
  }
}

function sameShape(a: AttentionShape, b: AttentionShape): boolean {
  return a.B === b.B && a.T === b.T && a.H === b.H && a.Hkv === b.Hkv && a.D === b.D;
}

/** out[R, m, D] with out[r, i] = inp[r, kvOf[i]] from inp[R, kv, D]: one kv copy per query head. */
function expandHeads(inp: Float32Array, kvOf: readonly number[], R: number, kv: number, D: number): Float32Array {
  const m = kvOf.length;
  const out = new Float32Array(R * m * D); // [R, m, D]
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < m; i++) {
      const from = (r * kv + (kvOf[i] as number)) * D;
      out.set(inp.subarray(from, from + D), (r * m + i) * D);
    }
  }
  return out;
}

/** out[R, kv, D] with out[r, j] = sum of inp[r, i] over the i with kvOf[i] = j: expandHeads' adjoint. */
function reduceHeads(inp: Float32Array, kvOf: readonly number[], R: number, kv: number, D: number): Float32Array {
  const m = kvOf.length;
  const out = new Float32Array(R * kv * D); // [R, kv, D]
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < m; i++) {
      const to = (r * kv + (kvOf[i] as number)) * D;
      const from = (r * m + i) * D;
      for (let d = 0; d < D; d++) out[to + d] = (out[to + d] as number) + (inp[from + d] as number);
    }
  }
  return out;
}
