// Program every rank runs in bf16-attention.test.ts: DistributedAttention with fp32 and with bf16
// all-to-alls on this rank's token shard, against LocalAttention on the whole sequence, forward
// and backward, with the bytes each direction recorded.
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGroup } from '../../src/dist/group.js';
import { createNativeKernels, setNativeThreads } from '../../src/kernels/native/native-kernels.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { makeUlyssesPlan } from '../../src/parallel/ulysses/plan.js';
import { ulyssesAttentionBytes } from '../../src/parallel/ulysses/volume.js';
import type { WireDtype } from '../../src/parallel/ulysses/wire.js';
import { randomArray, relL2 } from '../helpers.js';

export interface Bf16Case {
  readonly B: number;
  readonly N: number;
  readonly H: number;
  readonly Hkv: number;
  readonly D: number;
  readonly docs: boolean;
}

export interface WireResult {
  readonly err: Record<'out' | 'dq' | 'dk' | 'dv', number>;
  /** [sent, received] bytes measured, and the formula's with bpe = 2 (bf16) or 4 (fp32). */
  readonly fwd: [number, number];
  readonly bwd: [number, number];
  readonly fwdFormula: [number, number];
  readonly bwdFormula: [number, number];
}

export interface Bf16Result {
  readonly label: string;
  readonly fp32: WireResult;
  readonly bf16: WireResult;
}

/** Rows [t0, t0+n) of every batch row of x[B, N, rowLen]. */
function shard(x: Float32Array, B: number, N: number, rowLen: number, t0: number, n: number): Float32Array {
  const out = new Float32Array(B * n * rowLen);
  for (let b = 0; b < B; b++) out.set(x.subarray((b * N + t0) * rowLen, (b * N + t0 + n) * rowLen), b * n * rowLen);
  return out;
}

export function main(comm: Communicator, args: { cases: Bf16Case[] }): Bf16Result[] {
  const P = comm.worldSize;
  const g = makeGroup('sp', Array.from({ length: P }, (_, r) => r), comm.rank);
  const me = g.index;
  setNativeThreads(1, 1);
  const local = new LocalAttention(createNativeKernels());
  const results: Bf16Result[] = [];
  for (const c of args.cases) {
    const { B, N, H, Hkv, D } = c;
    const plan = makeUlyssesPlan(P, N, H, Hkv);
    const n = plan.tokenCounts[me] as number;
    const t0 = plan.tokenOffsets[me] as number;
    const q = randomArray(B * N * H * D, 1); // [B, N, H, D]
    const k = randomArray(B * N * Hkv * D, 2); // [B, N, Hkv, D]
    const v = randomArray(B * N * Hkv * D, 3); // [B, N, Hkv, D]
    const dout = randomArray(B * N * H * D, 4); // [B, N, H, D]
    const docIds = c.docs ? Int32Array.from({ length: B * N }, (_, i) => Math.floor(((i % N) * 3) / N) + 10 * Math.floor(i / N)) : null;
    const full = { out: new Float32Array(q.length), dq: new Float32Array(q.length), dk: new Float32Array(k.length), dv: new Float32Array(v.length) };
    const fs = local.forward(full.out, q, k, v, { B, T: N, H, Hkv, D }, { causal: true, docIds });
    local.backward(full.dq, full.dk, full.dv, dout, fs);
    const run = (wire: WireDtype): WireResult => {
      const dist = new DistributedAttention(local, comm, g, { seqLen: N, wire });
      const sq = shard(q, B, N, H * D, t0, n);
      const sk = shard(k, B, N, Hkv * D, t0, n);
      const sv = shard(v, B, N, Hkv * D, t0, n);
      const sdocs = docIds ? Int32Array.from(shard(new Float32Array(docIds), B, N, 1, t0, n)) : null;
      const out = new Float32Array(sq.length); // [B, n, H, D]
      comm.reset();
      const saved = dist.forward(out, sq, sk, sv, { B, T: n, H, Hkv, D }, { causal: true, docIds: sdocs });
      const f = comm.snapshot().total;
      const dq = new Float32Array(sq.length); // [B, n, H, D]
      const dk = new Float32Array(sk.length); // [B, n, Hkv, D]
      const dv = new Float32Array(sv.length); // [B, n, Hkv, D]
      comm.reset();
      dist.backward(dq, dk, dv, shard(dout, B, N, H * D, t0, n), saved);
      const bw = comm.snapshot().total;
      const vol = ulyssesAttentionBytes(plan, me, B, D, c.docs, wire === 'bf16' ? 2 : 4);
      return {
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
      };
    };
    results.push({
      label: `B${B} N${N} H${H} Hkv${Hkv} D${D} P${P}${c.docs ? ' +docs' : ''} rank ${me}`,
      fp32: run('fp32'),
      bf16: run('bf16'),
    });
  }
  return results;
}
