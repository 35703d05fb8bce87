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
import { headToSeqStart, seqToHeadStart, type A2ALayout } from './layouts.js';
import { checkUlyssesMask, localUlyssesMask } from './local-mask.js';
import { makeUlyssesPlan, type Span, type UlyssesPlan } from './plan.js';

export interface DistributedAttentionOptions {
  /** Full sequence length N; the token shards follow splitCounts(N, P). Changeable with setSeqLen. */
  seqLen: number;
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

export class DistributedAttention implements AttentionCore {
  private seqLen: number;
  private plan: UlyssesPlan | null = null;

  constructor(
    private readonly local: AttentionCore,
    private readonly comm: Communicator,
    private readonly group: Group,
    options: DistributedAttentionOptions,
  ) {
    this.seqLen = options.seqLen;
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

  forward(
    out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    shape: AttentionShape, mask: AttentionMaskSpec,
  ): AttentionSaved {
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
    const mySpan = plan.heads[me] as Span;
    const m = mySpan.count;
    const kvc = (plan.kv[me] as { count: number }).count;
    const base = { B, D, tokenCounts: plan.tokenCounts, tokenOffsets: plan.tokenOffsets };
    const qL: A2ALayout = { ...base, Hs: H, spans: plan.heads };
    const kvL: A2ALayout = { ...base, Hs: Hkv, spans: plan.kv };
    const docIds = mask.docIds ? gatherDocIds(this.comm, this.group, mask.docIds, B, plan.tokenCounts) : null; // [B, N]
    const qh = new Float32Array(B * N * m * D); // [B, N, m, D]
    const kh = new Float32Array(B * N * kvc * D); // [B, N, kv, D]
    const vh = new Float32Array(B * N * kvc * D); // [B, N, kv, D]
    // k and v travel while q is unpacked: a rank waiting on one advances all three.
    const pq = seqToHeadStart(this.comm, this.group, qL, qh, q);
    const pk = seqToHeadStart(this.comm, this.group, kvL, kh, k);
    const pv = seqToHeadStart(this.comm, this.group, kvL, vh, v);
    pq.finish();
    pk.finish();
    pv.finish();
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

  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, saved: AttentionSaved): void {
    const s = saved as Partial<DistSaved>;
    if (s.owner !== this) throw new Error('DistributedAttention.backward: saved state comes from another attention core');
    const { inner, q: qL, kv: kvL, expand, kvHeads: kvc } = s as DistSaved;
    const { B, D } = qL;
    const me = this.group.index;
    const N = qL.tokenCounts.reduce((a, b) => a + b, 0);
    const m = (qL.spans[me] as { count: number }).count;
    const douth = new Float32Array(B * N * m * D); // [B, N, m, D]
    seqToHeadStart(this.comm, this.group, qL, douth, dout).finish();
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
