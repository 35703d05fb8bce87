// The FLOP rate MFU is measured against: a square sgemm timed with the run's own kernels and
// threads, so MFU reads as "share of what this machine's GEMM really does".
import type { Kernels } from '../kernels/kernels.js';

export interface PeakMeasurement {
  flopsPerSecond: number;
  size: number;
  calls: number;
  seconds: number;
}

/** Times n×n×n sgemm calls for about `seconds` (at least once); the best call's rate, so a cold first call does not count. */
export function measurePeakFlops(kernels: Kernels, n = 1024, seconds = 0.3): PeakMeasurement {
  const a = new Float32Array(n * n);
  const b = new Float32Array(n * n);
  const c = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) {
    a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  }
  const flops = 2 * n * n * n;
  let best = 0;
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000 || calls === 0) {
    const s = performance.now();
    kernels.sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
    const dt = (performance.now() - s) / 1000;
    best = Math.max(best, flops / dt);
    calls++;
    elapsed = performance.now() - t0;
  }
  return { flopsPerSecond: best, size: n, calls, seconds: elapsed / 1000 };
}
