// The Kernels interface backed by the C++ addon. Shapes and masks (window and block layout
// included) are flattened into the addon's plain arguments; everything else is passed through.
import type { AttentionMaskSpec, AttentionShape, Kernels } from '../kernels.js';
import { loadNativeAddon, type NativeAddon } from './binding.js';

export function createNativeKernels(): Kernels {
  const a: NativeAddon = loadNativeAddon();
  return {
    name: 'native',
    sgemm: a.sgemm,
    sbgemm: a.sbgemm,
    layernorm_forward: a.layernorm_forward,
    layernorm_backward: a.layernorm_backward,
    rmsnorm_forward: a.rmsnorm_forward,
    rmsnorm_backward: a.rmsnorm_backward,
    gelu_forward: a.gelu_forward,
    gelu_backward: a.gelu_backward,
    swiglu_forward: a.swiglu_forward,
    swiglu_backward: a.swiglu_backward,
    crossentropy_forward: a.crossentropy_forward,
    crossentropy_backward: a.crossentropy_backward,
    adamw_update: a.adamw_update,
    rope_forward: a.rope_forward,
    rope_backward: a.rope_backward,
    attention_forward(out, lse, q, k, v, s: AttentionShape, m: AttentionMaskSpec, scale) {
      const l = m.blockLayout ?? null;
      a.attention_forward(
        out, lse, q, k, v, s.B, s.T, s.H, s.Hkv, s.D, m.causal, m.docIds, scale,
        m.window ?? 0, l?.mask ?? null, l?.blockSize ?? 0, l?.nBlocks ?? 0, l?.heads ?? 0,
      );
    },
    attention_backward(dq, dk, dv, dout, q, k, v, out, lse, s: AttentionShape, m: AttentionMaskSpec, scale) {
      const l = m.blockLayout ?? null;
      a.attention_backward(
        dq, dk, dv, dout, q, k, v, out, lse, s.B, s.T, s.H, s.Hkv, s.D, m.causal, m.docIds, scale,
        m.window ?? 0, l?.mask ?? null, l?.blockSize ?? 0, l?.nBlocks ?? 0, l?.heads ?? 0,
      );
    },
  };
}

/**
 * What runs the native sbgemm: 'openblas' (cblas_sbgemm of an OpenBLAS built with bf16 support) or
 * 'widen+sgemm' (bf16 widened to fp32, then cblas_sgemm; Debian 12's OpenBLAS 0.3.21 lacks sbgemm).
 */
export function sbgemmProvider(): 'openblas' | 'widen+sgemm' {
  return loadNativeAddon().sbgemmProvider();
}

/** Threads used by native attention and by OpenBLAS in this process. */
export function setNativeThreads(kernelThreads: number, blasThreads: number): void {
  loadNativeAddon().setNumThreads(kernelThreads, blasThreads);
}
