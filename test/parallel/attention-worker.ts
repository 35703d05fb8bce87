// Program every rank runs in distributed-attention.test.ts: DistributedAttention(LocalAttention)
// on this rank's token shard against LocalAttention on the whole sequence (computed on every rank
// from the same seeds), forward and backward, plus the bytes each direction recorded.
import type { AttentionCore } from '../../src/attention/attention-core.js';
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGroup } from '../../src/dist/group.js';
import type { Kernels } from '../../src/kernels/kernels.js';
import { createNativeKernels, setNativeThreads } from '../../src/kernels/native/native-kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { makeUlyssesPlan } from '../../src/parallel/ulysses/plan.js';
import { ulyssesAttentionBytes, ulyssesEqualSplitElements } from '../../src/parallel/ulysses/volume.js';
import { randomArray, relL2 } from '../helpers.js';

export interface AttnCase {
  readonly B: number;
  readonly N: number;
  readonly H: number;
  readonly Hkv: number;
  readonly D: number;
  readonly causal: boolean;
  readonly docs: boolean;
  readonly kernels: 'native' | 'reference';
}

export interface AttnResult {
  readonly label: string;
  readonly err: Record<'out' | 'dq' | 'dk' | 'dv', number>;
  readonly fwd: [number, number];
  readonly bwd: [number, number];
  readonly fwdFormula: [number, number];
  readonly bwdFormula: [number, number];
  /** (2h + 2h_kv)·B·(N/P)·(P−1)/P · 4 bytes when every split is equal, else null. */
  readonly equalFormula: number | null;
  /** The docIds all-gather's forward bytes: (P−1)·B·(N/P)·4 each way when every split is equal. */
  readonly equalDocBytes: number;
  readonly expanded: boolean;
}

/** Rows [t0, t0+n) of every batch row of x[B, N, Hx, D]. */
function shard(x: Float32Array, B: number, N: number, rowLen: number, t0: number, n: number): Float32Array {
  const out = new Float32Array(B * n * rowLen);
  for (let b = 0; b < B; b++) out.set(x.subarray((b * N + t0) * rowLen, (b * N + t0 + n) * rowLen), b * n * rowLen);
  return out;
}

export function main(comm: Communicator, args: { cases: AttnCase[] }): AttnResult[] {
  const P = comm.worldSize;
  const g = makeGroup('sp', Array.from({ length: P }, (_, r) => r), comm.rank);
  const me = g.index;
  setNativeThreads(1, 1);
  const kernelsOf: Record<string, Kernels> = { native: createNativeKernels(), reference: createReferenceKernels() };
  const results: AttnResult[] = [];
  for (const c of args.cases) {
    const { B, N, H, Hkv, D } = c;
    const kernels = kernelsOf[c.kernels] as Kernels;
    const local: AttentionCore = new LocalAttention(kernels);
    const plan = makeUlyssesPlan(P, N, H, Hkv);
    const n = plan.tokenCounts[me] as number;
    const t0 = plan.tokenOffsets[me] as number;
    const q = randomArray(B * N * H * D, 1); // [B, N, H, D]
    const k = randomArray(B * N * Hkv * D, 2); // [B, N, Hkv, D]
    const v = randomArray(B * N * Hkv * D, 3); // [B, N, Hkv, D]
    const dout = randomArray(B * N * H * D, 4); // [B, N, H, D]
    // Three documents per row with boundaries that fall inside shards.
    const docIds = c.docs ? Int32Array.from({ length: B * N }, (_, i) => Math.floor(((i % N) * 3) / N) + 10 * Math.floor(i / N)) : null;
    const full = { out: new Float32Array(q.length), dq: new Float32Array(q.length), dk: new Float32Array(k.length), dv: new Float32Array(v.length) };
    const fs = local.forward(full.out, q, k, v, { B, T: N, H, Hkv, D }, { causal: c.causal, docIds });
    local.backward(full.dq, full.dk, full.dv, dout, fs);

    const dist = new DistributedAttention(local, comm, g, { seqLen: N });
    const sq = shard(q, B, N, H * D, t0, n);
    const sk = shard(k, B, N, Hkv * D, t0, n);
    const sv = shard(v, B, N, Hkv * D, t0, n);
    const sdocs = docIds ? shard(new Float32Array(docIds), B, N, 1, t0, n) : null;
    const out = new Float32Array(sq.length); // [B, n, H, D]
    comm.reset();
    const saved = dist.forward(out, sq, sk, sv, { B, T: n, H, Hkv, D }, { causal: c.causal, docIds: sdocs ? Int32Array.from(sdocs) : null });
    const f = comm.snapshot().total;
    const dq = new Float32Array(sq.length).fill(NaN); // [B, n, H, D]: overwritten
    const dk = new Float32Array(sk.length).fill(NaN); // [B, n, Hkv, D]
    const dv = new Float32Array(sv.length).fill(NaN); // [B, n, Hkv, D]
    comm.reset();
    dist.backward(dq, dk, dv, shard(dout, B, N, H * D, t0, n), saved);
    const bw = comm.snapshot().total;
    const vol = ulyssesAttentionBytes(plan, me, B, D, c.docs);
    const equal = N % P === 0 && H % P === 0 && Hkv % P === 0;
    results.push({
      label: `B${B} N${N} H${H} Hkv${Hkv} D${D} P${P} ${c.causal ? 'causal' : 'full'}${c.docs ? '+docs' : ''} ${c.kernels} rank ${me}`,
      err: {
        out: relL2(out, shard(full.out, B, N, H * D, t0, n)),
        dq: relL2(dq, shard(full.dq, B, N, H * D, t0, n)),
        dk: relL2(dk, shard(full.dk, B, N, Hkv * D, t0, n)),
        dv: relL2(dv, shard(full.dv, B, N, Hkv * D, t0, n)),
      },
      fwd: [f.bytesSent, f.bytesReceived],
      bwd: [bw.bytesSent, bw.bytesReceived],
      fwdFormula: [vol.forward.sent, vol.forward.received],
      bwdFormula: [vol.backward.sent, vol.backward.received],
      equalFormula: equal ? ulyssesEqualSplitElements(B, N, P, H, Hkv, D) * 4 : null,
      equalDocBytes: c.docs ? ((P - 1) * B * N * 4) / P : 0,
      expanded: !(plan.kvMaps[me]?.uniform ?? true),
    });
  }
  return results;
}
