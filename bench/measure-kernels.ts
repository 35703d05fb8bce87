// Child-process side of the gemm and attention sections: times native kernels and reports
// JSON. Runs in its own process so OpenBLAS threads and peak RSS belong to one measurement.
import type { AttentionMaskSpec, AttentionShape } from '../src/kernels/kernels.js';
import { createNativeKernels, setNativeThreads } from '../src/kernels/native/native-kernels.js';
import { fillRandom, maxRssBytes, median, nowS } from './util.js';

export interface GemmPoint {
  n: number;
  reps: number;
  /** Rate from the median repetition time. */
  gflops: number;
  /** Rate from the fastest repetition. */
  gflopsBest: number;
}

export interface GemmResult {
  threads: number;
  points: GemmPoint[];
}

/** sgemm C = A @ B at n^3 for each size, repeating for about `seconds` per size. */
export function measureGemm(threads: number, sizes: readonly number[], seconds: number): GemmResult {
  setNativeThreads(threads, threads);
  const k = createNativeKernels();
  const points: GemmPoint[] = [];
  for (const n of sizes) {
    const a = new Float32Array(n * n);
    const b = new Float32Array(n * n);
    const c = new Float32Array(n * n);
    fillRandom(a, 1);
    fillRandom(b, 2);
    const once = (): number => {
      const t0 = nowS();
      k.sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
      return nowS() - t0;
    };
    once();
    const times: number[] = [];
    const start = nowS();
    while (times.length < 3 || (nowS() - start < seconds && times.length < 1000)) times.push(once());
    const flop = 2 * n * n * n;
    points.push({ n, reps: times.length, gflops: flop / median(times) / 1e9, gflopsBest: flop / Math.min(...times) / 1e9 });
  }
  return { threads, points };
}

export interface AttentionResult {
  N: number;
  B: number;
  H: number;
  D: number;
  threads: number;
  reps: number;
  fwdS: number;
  bwdS: number;
  /** Bytes of q, k, v, out, lse, dout, dq, dk, dv together. */
  bufferBytes: number;
  /** Peak RSS growth during the kernel calls, above the RSS with all buffers touched. */
  rssDeltaBytes: number;
  peakRssBytes: number;
  /** Largest |out| element, a sanity check that the kernel wrote something finite. */
  outMaxAbs: number;
}

/** Fused causal attention forward and backward at [B=1, N, H, D], timed separately. */
export function measureAttention(
  N: number, H: number, D: number, threads: number, reps: number, warmup: number,
): AttentionResult {
  setNativeThreads(threads, threads);
  const k = createNativeKernels();
  const B = 1;
  const elems = B * N * H * D;
  const q = new Float32Array(elems);
  const kk = new Float32Array(elems);
  const v = new Float32Array(elems);
  const out = new Float32Array(elems);
  const dout = new Float32Array(elems);
  const dq = new Float32Array(elems);
  const dk = new Float32Array(elems);
  const dv = new Float32Array(elems);
  const lse = new Float32Array(B * H * N);
  fillRandom(q, 11);
  fillRandom(kk, 12);
  fillRandom(v, 13);
  fillRandom(dout, 14);
  for (const buf of [out, dq, dk, dv, lse]) fillRandom(buf, 15);
  const bufferBytes = (8 * elems + B * H * N) * 4;
  const shape: AttentionShape = { B, T: N, H, Hkv: H, D };
  const mask: AttentionMaskSpec = { causal: true, docIds: null };
  const scale = 1 / Math.sqrt(D);
  // Current RSS (not the high-water mark) so earlier transient peaks cannot hide growth.
  const rssBase = process.memoryUsage().rss;
  const fwd: number[] = [];
  const bwd: number[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    const t0 = nowS();
    k.attention_forward(out, lse, q, kk, v, shape, mask, scale);
    const t1 = nowS();
    k.attention_backward(dq, dk, dv, dout, q, kk, v, out, lse, shape, mask, scale);
    const t2 = nowS();
    if (i >= warmup) {
      fwd.push(t1 - t0);
      bwd.push(t2 - t1);
    }
  }
  let outMaxAbs = 0;
  for (let i = 0; i < out.length; i++) outMaxAbs = Math.max(outMaxAbs, Math.abs(out[i] as number));
  const peak = maxRssBytes();
  return {
    N, B, H, D, threads, reps,
    fwdS: median(fwd),
    bwdS: median(bwd),
    bufferBytes,
    rssDeltaBytes: Math.max(0, peak - rssBase),
    peakRssBytes: peak,
    outMaxAbs,
  };
}
