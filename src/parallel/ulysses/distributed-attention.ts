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
import { headToSeqSendsInput, headToSeqStart, seqToHeadStart, type A2ALayout, type PendingA2A } from './layouts.js';
import { checkUlyssesMask, localUlyssesMask } from './local-mask.js';
import { makeUlyssesPlan, type Span, type UlyssesPlan } from './plan.js';
import { freshWirePool, PayloadPool, type WirePool, type WirePoolStats } from './payload-pool.js';
import type { WireDtype } from './wire.js';

export interface DistributedAttentionOptions {
  /** Full sequence length N; the token shards follow splitCounts(N, P). Changeable with setSeqLen. */
  seqLen: number;
  /**
   * Element type of the q, k, v, out all-to-alls and their gradients' (default fp32). bf16 halves
   * the bytes; every rank of the group must choose the same.
   */
  wire?: WireDtype;
  /**
   * Reuse the all-to-alls' send, receive and gradient scratch buffers across calls (default true),
   * taking send buffers from comm.allocShared where the backend has it. false allocates fresh
   * arrays per call (same results, bit for bit).
   */
  pool?: boolean;
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
  /** kh and vh came from the pool (they are scratch when kv heads are expanded, else the core keeps them). */
  readonly khPooled: boolean;
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
  /**
   * Buffers the all-to-alls reuse. Never q, k, v or out of the local core's forward: the core keeps
   * those until its backward, which may never come (evaluation) or come after a replayed forward
   * (activation checkpointing), so they stay ordinary arrays owned by the saved state.
   */
  private readonly pool: WirePool;

  constructor(
    private readonly local: AttentionCore,
    private readonly comm: Communicator,
    private readonly group: Group,
    options: DistributedAttentionOptions,
  ) {
    this.seqLen = options.seqLen;
    this.wire = options.wire ?? 'fp32';
    this.pool = options.pool === false ? freshWirePool : new PayloadPool(comm);
  }

  /** What the buffer pool holds (all zero with pool: false). */
  poolStats(): WirePoolStats {
    return this.pool instanceof PayloadPool ? this.pool.stats() : { buffers: 0, shared: 0, inUse: 0, bytes: 0 };
  }

  /** Whether buf is one of this core's pooled shared (allocShared) send buffers. */
  isPooledShared(buf: Float32Array | Uint16Array): boolean {
    return this.pool instanceof PayloadPool && this.pool.isShared(buf);
  }

  /**
   * Frees the pooled buffers (shared ones through comm.freeShared). Call it once no call is in
   * flight; the core stays usable and refills its pool on the next step.
   */
  dispose(): void {
    if (this.pool instanceof PayloadPool) this.pool.dispose();
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
    // With expanded kv heads the core keeps the expanded copies, so kh and vh are scratch.
    const khPooled = !(plan.kvMaps[me] as { uniform: boolean }).uniform;
    const kh = khPooled ? this.scratch(B * N * kvc * D, 'recv') : new Float32Array(B * N * kvc * D); // [B, N, kv, D]
    const vh = khPooled ? this.scratch(B * N * kvc * D, 'recv') : new Float32Array(B * N * kvc * D); // [B, N, kv, D]
    // The block computes q while k and v travel, so they go through staging: a shared send would
    // hold this rank's finish() until every peer has entered a collective call to read it.
    const pk = seqToHeadStart(this.comm, this.group, kvL, kh, k, this.pool, false);
    const pv = seqToHeadStart(this.comm, this.group, kvL, vh, v, this.pool, false);
    this.pendingKV = { k, v, shape: { ...shape }, mask, plan, kvL, docIds, kh, vh, khPooled, pk, pv };
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
    const pq = seqToHeadStart(this.comm, this.group, qL, qh, q, this.pool);
    pq.finish();
    p.pk.finish();
    p.pv.finish();
    const map = plan.kvMaps[me] as { uniform: boolean; kvOf: readonly number[] };
    const expand = map.uniform ? null : map.kvOf;
    const kLocal = expand ? expandHeads(kh, expand, B * N, kvc, D) : kh; // [B, N, kv or m, D]
    const vLocal = expand ? expandHeads(vh, expand, B * N, kvc, D) : vh; // [B, N, kv or m, D]
    if (p.khPooled) {
      this.pool.give(kh);
      this.pool.give(vh);
    }
    const outh = new Float32Array(B * N * m * D); // [B, N, m, D]
    const localShape: AttentionShape = { B, T: N, H: m, Hkv: expand ? m : kvc, D };
    const inner = this.local.forward(outh, qh, kLocal, vLocal, localShape, localUlyssesMask(mask, docIds, mySpan));
    headToSeqStart(this.comm, this.group, qL, out, outh, this.pool).finish();
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
    // Every element is received, so a pooled buffer needs no zeroing. dout goes through staging, as
    // k and v do, because the block computes a weight gradient while it travels.
    const douth = this.scratch(qL.B * N * m * qL.D, 'recv'); // [B, N, m, D]
    this.pendingDout = { dout, saved, douth, pending: seqToHeadStart(this.comm, this.group, qL, douth, dout, this.pool, false) };
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
    // Sent as they are when headToSeq does not pack them: then they are shared send buffers.
    const use = headToSeqSendsInput(qL) ? 'send' : 'recv';
    // Zeroed like fresh arrays, so a core that accumulates into its gradients sees the same start.
    const dqh = this.scratch(B * N * m * D, use, true); // [B, N, m, D]
    const dkLocal = this.scratch(B * N * kLocalHeads * D, expand ? 'recv' : use, true); // [B, N, kv or m, D]
    const dvLocal = this.scratch(B * N * kLocalHeads * D, expand ? 'recv' : use, true); // [B, N, kv or m, D]
    this.local.backward(dqh, dkLocal, dvLocal, douth, inner);
    this.pool.give(douth);
    const pq = headToSeqStart(this.comm, this.group, qL, dq, dqh, this.pool);
    // The expanded copies' gradients fold back onto the kv heads they were copied from.
    let dkh = dkLocal; // [B, N, kv, D]
    let dvh = dvLocal; // [B, N, kv, D]
    if (expand) {
      dkh = reduceHeads(this.scratch(B * N * kvc * D, use, true), dkLocal, expand, B * N, kvc, D);
      dvh = reduceHeads(this.scratch(B * N * kvc * D, use, true), dvLocal, expand, B * N, kvc, D);
      this.pool.give(dkLocal);
      this.pool.give(dvLocal);
    }
    const pk = headToSeqStart(this.comm, this.group, kvL, dk, dkh, this.pool);
    const pv = headToSeqStart(this.comm, this.group, kvL, dv, dvh, this.pool);
    pq.finish();
    pk.finish();
    pv.finish();
    this.pool.give(dqh);
    this.pool.give(dkh);
    this.pool.give(dvh);
  }

  /** An fp32 buffer of n elements from the pool ('send': shared where the backend can send it in place). */
  private scratch(n: number, use: 'send' | 'recv', zeroed = false): Float32Array {
    return this.pool.take('fp32', n, use, zeroed) as Float32Array;
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

/** out[R, kv, D] (zeroed) += for each j the sum of inp[r, i] over the i with kvOf[i] = j: expandHeads' adjoint. */
function reduceHeads(out: Float32Array, inp: Float32Array, kvOf: readonly number[], R: number, kv: number, D: number): Float32Array {
  const m = kvOf.length;
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < m; i++) {
      const to = (r * kv + (kvOf[i] as number)) * D;
      const from = (r * m + i) * D;
      for (let d = 0; d < D; d++) out[to + d] = (out[to + d] as number) + (inp[from + d] as number);
    }
  }
  return out;
}
