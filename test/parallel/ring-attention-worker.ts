// Program every rank runs in ring-attention.test.ts: ring attention (U = 1) or hybrid Ulysses x
// ring attention on this rank's zigzag / hybrid token piece against LocalAttention on the whole
// sequence (computed on every rank from the same seeds), forward and backward, plus the bytes
// each direction recorded and the formulas' bytes.
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import type { Kernels } from '../../src/kernels/kernels.js';
import { createNativeKernels, setNativeThreads } from '../../src/kernels/native/native-kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { hybridAttentionBytes, ringAttentionBytes } from '../../src/parallel/ring/volume.js';
import { gatherRanges, uspRanges } from '../../src/parallel/ring/zigzag.js';
import { createUspAttention } from '../../src/parallel/usp/usp-attention.js';
import { randomArray, relL2 } from '../helpers.js';

export interface RingCase {
  readonly B: number;
  readonly N: number;
  readonly H: number;
  readonly Hkv: number;
  readonly D: number;
  readonly causal: boolean;
  /** Ring degree; the ulysses degree is the world size / R. */
  readonly R: number;
  readonly kernels: 'native' | 'reference';
}

export interface RingResult {
  readonly label: string;
  readonly err: Record<'out' | 'dq' | 'dk' | 'dv', number>;
  readonly fwd: [number, number];
  readonly bwd: [number, number];
  readonly fwdFormula: [number, number];
  readonly bwdFormula: [number, number];
  /** The rank's bytes split by group name: ring ('ring') and ulysses ('ulysses'), forward + backward. */
  readonly byGroup: Record<string, number>;
}

export function main(comm: Communicator, args: { cases: RingCase[] }): RingResult[] {
  const P = comm.worldSize;
  setNativeThreads(1, 1);
  const kernelsOf: Record<string, Kernels> = { native: createNativeKernels(), reference: createReferenceKernels() };
  const results: RingResult[] = [];
  for (const c of args.cases) {
    const { B, N, H, Hkv, D, R } = c;
    const U = P / R;
    const groups = rankGroups(makeGrid({ dp: 1, sp: P, ring: R }), comm.rank);
    const s = groups.coords.sp;
    const kernels = kernelsOf[c.kernels] as Kernels;
    const local = new LocalAttention(kernels);
    const q = randomArray(B * N * H * D, 1); // [B, N, H, D]
    const k = randomArray(B * N * Hkv * D, 2); // [B, N, Hkv, D]
    const v = randomArray(B * N * Hkv * D, 3); // [B, N, Hkv, D]
    const dout = randomArray(B * N * H * D, 4); // [B, N, H, D]
    const mask = { causal: c.causal, docIds: null };
    const full = { out: new Float32Array(q.length), dq: new Float32Array(q.length), dk: new Float32Array(k.length), dv: new Float32Array(v.length) };
    const fs = local.forward(full.out, q, k, v, { B, T: N, H, Hkv, D }, mask);
    local.backward(full.dq, full.dk, full.dv, dout, fs);

    const core = createUspAttention(kernels, comm, groups, N, H, Hkv);
    const ranges = uspRanges(N, U, R, s);
    const n = ranges.reduce((t, r) => t + r.count, 0);
    const piece = (x: Float32Array, heads: number): Float32Array => gatherRanges(x, B, N, heads * D, ranges);
    const out = new Float32Array(B * n * H * D); // [B, n, H, D]
    comm.reset();
    const saved = core.forward(out, piece(q, H), piece(k, Hkv), piece(v, Hkv), { B, T: n, H, Hkv, D }, mask);
    const f = comm.snapshot();
    const dq = new Float32Array(B * n * H * D).fill(NaN); // [B, n, H, D]: overwritten
    const dk = new Float32Array(B * n * Hkv * D).fill(NaN); // [B, n, Hkv, D]
    const dv = new Float32Array(B * n * Hkv * D).fill(NaN); // [B, n, Hkv, D]
    comm.reset();
    core.backward(dq, dk, dv, piece(dout, H), saved);
    const bw = comm.snapshot();
    const vol = U === 1 ? ringAttentionBytes(B, N, R, H, Hkv, D) : hybridAttentionBytes(B, N, U, R, H, Hkv, D, 4, groups.coords.ulysses);
    const byGroup: Record<string, number> = {};
    for (const snap of [f, bw]) {
      for (const [name, cnt] of Object.entries(snap.byGroup)) byGroup[name] = (byGroup[name] ?? 0) + cnt.bytesSent;
    }
    results.push({
      label: `B${B} N${N} H${H} Hkv${Hkv} D${D} U${U}xR${R} ${c.causal ? 'causal' : 'full'} ${c.kernels} rank ${comm.rank}`,
      err: {
        out: relL2(out, piece(full.out, H)),
        dq: relL2(dq, piece(full.dq, H)),
        dk: relL2(dk, piece(full.dk, Hkv)),
        dv: relL2(dv, piece(full.dv, Hkv)),
      },
      fwd: [f.total.bytesSent, f.total.bytesReceived],
      bwd: [bw.total.bytesSent, bw.total.bytesReceived],
      fwdFormula: [vol.forward.sent, vol.forward.received],
      bwdFormula: [vol.backward.sent, vol.backward.received],
      byGroup,
    });
  }
  return results;
}
