// The only file that loads the native addon. It declares the exact shape of what
// build/Release/ulysses_native.node exports; argument order follows the Kernels interface
// with shapes and masks flattened into plain numbers and typed arrays.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  setNumThreads(kernelThreads: number, blasThreads: number): void;
  getNumThreads(): { kernelThreads: number; blasThreads: number };
  sgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number,
    beta: number, C: Float32Array, ldc: number,
  ): void;
  sbgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Uint16Array, lda: number, B: Uint16Array, ldb: number,
    beta: number, C: Float32Array, ldc: number,
  ): void;
  /** 'openblas' when the library exports cblas_sbgemm, else 'widen+sgemm' (bf16 widened to fp32, then sgemm). */
  sbgemmProvider(): 'openblas' | 'widen+sgemm';
  /** dst[dOff + r*rowLen + c] = bf16(src[sOff + r*sStride + c]) for r < rows, c < rowLen (round to nearest even). */
  f32ToBf16Rows(dst: Uint16Array, dOff: number, src: Float32Array, sOff: number, rows: number, rowLen: number, sStride: number): void;
  /** dst[dOff + r*dStride + c] = (or += when add) fp32(src[sOff + r*rowLen + c]). */
  bf16ToF32Rows(
    dst: Float32Array, dOff: number, dStride: number, src: Uint16Array, sOff: number, rows: number, rowLen: number, add: boolean,
  ): void;
  /** dst[dstOffset + i] = src[i] for i < src.length, as one memcpy (same element type; either may lie on a SharedArrayBuffer). */
  copyInto<T extends Float32Array | Uint16Array>(dst: T, dstOffset: number, src: T): void;
  layernorm_forward(
    out: Float32Array, mean: Float32Array, rstd: Float32Array,
    inp: Float32Array, weight: Float32Array, bias: Float32Array, N: number, C: number, eps: number,
  ): void;
  layernorm_backward(
    dinp: Float32Array, dweight: Float32Array, dbias: Float32Array,
    dout: Float32Array, inp: Float32Array, weight: Float32Array, mean: Float32Array, rstd: Float32Array,
    N: number, C: number,
  ): void;
  rmsnorm_forward(
    out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number,
  ): void;
  rmsnorm_backward(
    dinp: Float32Array, dweight: Float32Array, dout: Float32Array, inp: Float32Array, weight: Float32Array,
    rstd: Float32Array, N: number, C: number,
  ): void;
  gelu_forward(out: Float32Array, inp: Float32Array, n: number): void;
  gelu_backward(dinp: Float32Array, dout: Float32Array, inp: Float32Array, n: number): void;
  swiglu_forward(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void;
  swiglu_backward(
    dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, n: number,
  ): void;
  crossentropy_forward(losses: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void;
  crossentropy_backward(
    dlogits: Float32Array, logits: Float32Array, targets: Int32Array, dloss: number, N: number, V: number,
  ): void;
  adamw_update(
    params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number,
  ): void;
  rope_forward(x: Float32Array, pos: Int32Array, N: number, H: number, D: number, theta: number): void;
  rope_backward(dx: Float32Array, pos: Int32Array, N: number, H: number, D: number, theta: number): void;
  attention_forward(
    out: Float32Array, lse: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    B: number, T: number, H: number, Hkv: number, D: number,
    causal: boolean, docIds: Int32Array | null, scale: number,
    window?: number, layout?: Uint8Array | null, blockSize?: number, nBlocks?: number, layoutHeads?: number,
  ): void;
  attention_backward(
    dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array,
    q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
    B: number, T: number, H: number, Hkv: number, D: number,
    causal: boolean, docIds: Int32Array | null, scale: number,
    window?: number, layout?: Uint8Array | null, blockSize?: number, nBlocks?: number, layoutHeads?: number,
  ): void;
}

/** Where the compiled addon lives: <package root>/build/Release/ulysses_native.node. */
function addonPath(): string {
  // This file is dist/src/kernels/native/binding.js once compiled: four levels below the root.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
  return join(root, 'build', 'Release', 'ulysses_native.node');
}

let cached: NativeAddon | undefined;

/**
 * OpenBLAS picks its kernels when the library loads and misreads some AVX-512 CPUs as
 * "Prescott" (SSE3), about 5x slower; naming the core type from /proc/cpuinfo avoids that.
 * The environment is process-wide, so this must run in the main thread before any rank loads
 * the addon; a value the user set is kept.
 */
export function chooseOpenBlasCore(): void {
  if (process.env['OPENBLAS_CORETYPE'] || !existsSync('/proc/cpuinfo')) return;
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? [];
  if (flags.includes('avx512f') && flags.includes('avx512bw') && flags.includes('avx512vl')) {
    process.env['OPENBLAS_CORETYPE'] = 'SkylakeX';
  } else if (flags.includes('avx2') && flags.includes('fma')) {
    process.env['OPENBLAS_CORETYPE'] = 'Haswell';
  }
}

/** Loads the addon once per thread; throws an error that says why and what to run. */
export function loadNativeAddon(): NativeAddon {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new Error(
      `the native addon is not built (${path} is missing). ` +
        'Install OpenBLAS (apt-get install libopenblas-dev g++ make python3), then run `npm ci` ' +
        'or `npm run build:native` in the ulysses folder.',
    );
  }
  chooseOpenBlasCore();
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `the native addon at ${path} failed to load: ${why}. ` +
        'If OpenBLAS is missing install it (apt-get install libopenblas-dev); if Node.js changed ' +
        'since the build, run `npm run build:native`.',
    );
  }
  return cached;
}

/** The addon, or null when it is not built or fails to load (for callers with a TypeScript fallback). */
export function optionalNativeAddon(): NativeAddon | null {
  try {
    return loadNativeAddon();
  } catch {
    return null;
  }
}
