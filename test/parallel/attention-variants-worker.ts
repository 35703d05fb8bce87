// Program every rank runs in attention-variants.test.ts: DistributedAttention(LocalAttention) with a
// sliding window, block-sparse layouts (shared or per head) and packed documents on this rank's
// token shard, against the same LocalAttention and mask on the whole sequence (computed on every
// rank from the same seeds), forward and backward, plus the bytes each direction recorded.
//
// Shape legend: B = batch, N = full sequence, n = this rank's tokens, H / Hkv = query / kv heads,
// D = head size.
import type { AttentionCore } from '../../src/attention/attention-core.js';
import { bigBirdLayout, fixedLayout, stridedLayout } from '../../src/attention/block-sparse-layouts.js';
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGroup } from '../../src/dist/group.js';
import type { AttentionMaskSpec, BlockLayout, Kernels } from '../../src/kernels/kernels.js';
import { createNativeKernels, setNativeThreads } from '../../src/kernels/native/native-kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { makeUlyssesPlan } from '../../src/parallel/ulysses/plan.js';
import { ulyssesAttentionBytes } from '../../src/parallel/ulysses/volume.js';
import { randomArray, relL2 } from '../helpers.js';

/** A block layout preset, built over the whole sequence on every rank. */
export interface LayoutSpec {
  readonly kind: 'bigbird' | 'fixed' | 'strided';
  readonly blockSize: number;
  /** One layout per query head (heads = H) rather than one shared layout. */
  readonly perHead: boolean;
  /** Sequence length the layout is built for; default N (anything else is a refusal test). */
  readonly T?: number;
}

export interface VariantCase {
  readonly name: string;
  readonly B: number;
  readonly N: number;
  readonly H: number;
  readonly Hkv: number;
  readonly D: number;
  readonly causal: boolean;
  /** Sliding window; absent = unlimited. */
  readonly window?: number;
  readonly layout?: LayoutSpec;
  /** Three packed documents per row, boundaries differing between rows and falling inside shards. */
  readonly docs: boolean;
  readonly kernels: 'native' | 'reference';
}

export interface VariantResult {
  readonly label: string;
  readonly err: Record<'out' | 'dq' | 'dk' | 'dv', number>;
  /** relL2 of the whole-sequence output with this mask against plain causal/full attention. */
  readonly vsDense: number;
  /** For per-head layouts: whether two query heads have different masks (else null). */
  readonly headsDiffer: boolean | null;
  readonly expanded: boolean;
  readonly fwd: [number, number];
  readonly bwd: [number, number];
  readonly fwdFormula: [number, number];
  readonly bwdFormula: [number, number];
}

function buildLayout(c: VariantCase): BlockLayout | null {
  const l = c.layout;
  if (!l) return null;
  const base = { T: l.T ?? c.N, blockSize: l.blockSize, heads: l.perHead ? c.H : 1, causal: c.causal };
  if (l.kind === 'bigbird') return bigBirdLayout({ ...base, localBlocks: 1, globalBlocks: 1, randomBlocks: 1, seed: 7 });
  if (l.kind === 'fixed') return fixedLayout({ ...base, strideBlocks: 3, summaryBlocks: 1 });
  return stridedLayout({ ...base, strideBlocks: 2 });
}

/** [B, N] document ids: row b is cut at floor(N/3) + b and floor(2N/3) - b. */
function packedDocs(B: number, N: number): Int32Array {
  const ids = new Int32Array(B * N);
  for (let b = 0; b < B; b++) {
    const c1 = Math.floor(N / 3) + b;
    const c2 = Math.floor((2 * N) / 3) - b;
    for (let t = 0; t < N; t++) ids[b * N + t] = 10 * b + (t < c1 ? 0 : t < c2 ? 1 : 2);
  }
  return ids;
}

/** Rows [t0, t0+n) of every batch row of x[B, N, rowLen]. */
function shard<A extends Float32Array | Int32Array>(x: A, B: number, N: number, rowLen: number, t0: number, n: number): A {
  const out = new (x.constructor as new (len: number) => A)(B * n * rowLen);
  for (let b = 0; b < B; b++) out.set(x.subarray((b * N + t0) * rowLen, (b * N + t0 + n) * rowLen), b * n * rowLen);
  return out;
}

function headsDiffer(l: BlockLayout): boolean {
  const per = l.nBlocks * l.nBlocks;
  for (let h = 1; h < l.heads; h++) {
    for (let i = 0; i < per; i++) if (l.mask[h * per + i] !== l.mask[i]) return true;
  }
  return false;
}

export function main(comm: Communicator, args: { cases: VariantCase[] }): VariantResult[] {
  const P = comm.worldSize;
  const g = makeGroup('sp', Array.from({ length: P }, (_, r) => r), comm.rank);
  const me = g.index;
  setNativeThreads(1, 1);
  const kernelsOf: Record<VariantCase['kernels'], Kernels> = { native: createNativeKernels(), reference: createReferenceKernels() };
  const results: VariantResult[] = [];
  for (const c of args.cases) {
    const { B, N, H, Hkv, D } = c;
    const local: AttentionCore = new LocalAttention(kernelsOf[c.kernels]);
    const plan = makeUlyssesPlan(P, N, H, Hkv);
    const n = plan.tokenCounts[me] as number;
    const t0 = plan.tokenOffsets[me] as number;
    const q = randomArray(B * N * H * D, 11); // [B, N, H, D]
    const k = randomArray(B * N * Hkv * D, 12); // [B, N, Hkv, D]
    const v = randomArray(B * N * Hkv * D, 13); // [B, N, Hkv, D]
    const dout = randomArray(B * N * H * D, 14); // [B, N, H, D]
    const docIds = c.docs ? packedDocs(B, N) : null; // [B, N]
    const layout = buildLayout(c);
    const mask: AttentionMaskSpec = { causal: c.causal, docIds, blockLayout: layout };
    if (c.window !== undefined) mask.window = c.window;
    // The distributed run goes first, so a mask it refuses fails before the whole-sequence one.
    const dist = new DistributedAttention(local, comm, g, { seqLen: N });
    const sq = shard(q, B, N, H * D, t0, n); // [B, n, H, D]
    const sk = shard(k, B, N, Hkv * D, t0, n); // [B, n, Hkv, D]
    const sv = shard(v, B, N, Hkv * D, t0, n); // [B, n, Hkv, D]
    // Every rank passes the same whole-sequence window and layout; only document ids are sharded.
    const smask: AttentionMaskSpec = { ...mask, docIds: docIds ? shard(docIds, B, N, 1, t0, n) : null };
    const out = new Float32Array(sq.length); // [B, n, H, D]
    comm.reset();
    const saved = dist.forward(out, sq, sk, sv, { B, T: n, H, Hkv, D }, smask);
    const f = comm.snapshot().total;
    const dq = new Float32Array(sq.length).fill(NaN); // overwritten
    const dk = new Float32Array(sk.length).fill(NaN);
    const dv = new Float32Array(sv.length).fill(NaN);
    comm.reset();
    dist.backward(dq, dk, dv, shard(dout, B, N, H * D, t0, n), saved);
    const bw = comm.snapshot().total;

    const full = { out: new Float32Array(q.length), dq: new Float32Array(q.length), dk: new Float32Array(k.length), dv: new Float32Array(v.length) };
    const fs = local.forward(full.out, q, k, v, { B, T: N, H, Hkv, D }, mask);
    local.backward(full.dq, full.dk, full.dv, dout, fs);
    const dense = new Float32Array(q.length); // [B, N, H, D]
    local.forward(dense, q, k, v, { B, T: N, H, Hkv, D }, { causal: c.causal, docIds: null });
    const vol = ulyssesAttentionBytes(plan, me, B, D, c.docs);
    results.push({
      label: `${c.name}: B${B} N${N} H${H} Hkv${Hkv} D${D} P${P} ${c.causal ? 'causal' : 'full'} ${c.kernels} rank ${me}`,
      err: {
        out: relL2(out, shard(full.out, B, N, H * D, t0, n)),
        dq: relL2(dq, shard(full.dq, B, N, H * D, t0, n)),
        dk: relL2(dk, shard(full.dk, B, N, Hkv * D, t0, n)),
        dv: relL2(dv, shard(full.dv, B, N, Hkv * D, t0, n)),
      },
      vsDense: relL2(full.out, dense),
      headsDiffer: layout && layout.heads > 1 ? headsDiffer(layout) : null,
      expanded: !(plan.kvMaps[me]?.uniform ?? true),
      fwd: [f.bytesSent, f.bytesReceived],
      bwd: [bw.bytesSent, bw.bytesReceived],
      fwdFormula: [vol.forward.sent, vol.forward.received],
      bwdFormula: [vol.backward.sent, vol.backward.received],
    });
  }
  return results;
}
