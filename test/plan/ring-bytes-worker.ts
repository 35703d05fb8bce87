// Program every rank runs in ring-agreement.test.ts: one forward and backward of ring attention
// (U = 1) or hybrid Ulysses x ring attention (U > 1) on this rank's share of random q, k, v, and
// the bytes it sent on the ulysses and ring groups in them. The values do not matter, only the
// shapes: the exchange is fixed by them.
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { createNativeKernels, setNativeThreads } from '../../src/kernels/native/native-kernels.js';
import { createUspAttention } from '../../src/parallel/usp/usp-attention.js';
import { randomArray } from '../helpers.js';

export interface RingCase {
  readonly U: number;
  readonly R: number;
  readonly B: number;
  readonly N: number;
  readonly H: number;
  readonly Hkv: number;
  readonly D: number;
}

export interface RingBytes {
  readonly rank: number;
  readonly ulysses: number;
  readonly ring: number;
}

export function main(comm: Communicator, cases: readonly RingCase[]): RingBytes[] {
  setNativeThreads(1, 1);
  const kernels = createNativeKernels();
  return cases.map((c) => {
    const sp = c.U * c.R;
    const groups = rankGroups(makeGrid({ dp: 1, sp, ring: c.R }), comm.rank);
    const core = createUspAttention(kernels, comm, groups, c.N, c.H, c.Hkv);
    const T = c.N / sp;
    const q = randomArray(c.B * T * c.H * c.D, 1 + comm.rank); // [B, T, H, D]
    const k = randomArray(c.B * T * c.Hkv * c.D, 2 + comm.rank); // [B, T, Hkv, D]
    const v = randomArray(c.B * T * c.Hkv * c.D, 3 + comm.rank); // [B, T, Hkv, D]
    const out = new Float32Array(q.length); // [B, T, H, D]
    comm.reset();
    const saved = core.forward(out, q, k, v, { B: c.B, T, H: c.H, Hkv: c.Hkv, D: c.D }, { causal: true, docIds: null });
    core.backward(new Float32Array(q.length), new Float32Array(k.length), new Float32Array(v.length), randomArray(q.length, 4), saved);
    const g = comm.snapshot().byGroup;
    return { rank: comm.rank, ulysses: g.ulysses?.bytesSent ?? 0, ring: g.ring?.bytesSent ?? 0 };
  });
}
