// The attention core a transformer block is handed: local (one worker) or distributed
// (DistributedAttention wraps a local core). The block never knows which.
//
// Shape legend: B = batch, T = tokens this rank holds, H = query heads, Hkv = key/value heads,
// D = head size.
import type { AttentionMaskSpec, AttentionShape } from '../kernels/kernels.js';

/** What a core keeps between forward and backward; opaque to the caller. */
export interface AttentionSaved {
  readonly shape: AttentionShape;
}

export interface AttentionCore {
  /**
   * out[B,T,H,D] = attention(q[B,T,H,D], k[B,T,Hkv,D], v[B,T,Hkv,D]) with scale 1/sqrt(D).
   * The core may keep references to q, k, v and out until backward; callers must not reuse them.
   */
  forward(
    out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    shape: AttentionShape, mask: AttentionMaskSpec,
  ): AttentionSaved;
  /** Overwrites dq[B,T,H,D], dk[B,T,Hkv,D], dv[B,T,Hkv,D] from dout[B,T,H,D]. */
  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, saved: AttentionSaved): void;
  /**
   * Optional: starts moving k[B,T,Hkv,D] and v[B,T,Hkv,D] so that the q projection overlaps it.
   * A block that calls it must call forward next, with the same k, v, shape and mask, and must
   * not modify k or v in between.
   */
  beginKV?(k: Float32Array, v: Float32Array, shape: AttentionShape, mask: AttentionMaskSpec): void;
  /**
   * Optional: starts moving dout[B,T,H,D] so that the output projection's weight-gradient GEMM
   * overlaps it. A block that calls it must next call backward with the same dout and saved.
   */
  beginBackward?(dout: Float32Array, saved: AttentionSaved): void;
}
