// The Kernel interface: every hot operation of the engine, implemented twice (a TypeScript
// reference in kernels/reference and the native addon in kernels/native) with the same contract.
//
// Shape legend (llm.c style):
//   B = batch, T = sequence length, C = channels (d_model), N = rows (usually B*T),
//   V = vocabulary, H = query heads, Hkv = key/value heads (H % Hkv == 0), D = head size.
// All buffers are row-major Float32Array (or Int32Array, or Uint16Array of bf16 bits, where
// stated); subarray views work.
//
// Gradient convention: unless a kernel says "overwrites", every backward kernel ADDS into its
// gradient outputs (dinp += ..., dweight += ...), so residual branches and gradient
// accumulation need no extra buffers. Callers zero gradients when they start a new sum.

/**
 * Block-sparse layout: which key blocks each query block may see. Block r holds tokens
 * [r * blockSize, min(T, (r + 1) * blockSize)), so the last block may be short.
 */
export interface BlockLayout {
  /** Tokens per block, at least 1. */
  blockSize: number;
  /** ceil(T / blockSize). */
  nBlocks: number;
  /** 1 (one layout for every query head) or H (one per query head). */
  heads: number;
  /** [heads, nBlocks, nBlocks]: nonzero where query block r may see key block c. */
  mask: Uint8Array;
}

/** Which keys a query may see: every condition given must hold (absent optional fields = dense). */
export interface AttentionMaskSpec {
  /** Query i sees key j only when j <= i. */
  causal: boolean;
  /** [B, T] document id per token: query i sees key j only when docIds[i] == docIds[j]. */
  docIds: Int32Array | null;
  /**
   * Sliding window w (0 or absent = unlimited): query i sees key j only when i - j < w, and
   * without causal also j - i < w. With causal, query i sees keys i-w+1..i.
   */
  window?: number;
  /** Block-sparse layout over (query block, key block); null or absent = every block. */
  blockLayout?: BlockLayout | null;
}

export interface AttentionShape {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
}

export interface Kernels {
  readonly name: 'reference' | 'native';

  /**
   * C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, row-major, as cblas_sgemm.
   * A is stored [M,K] (or [K,M] when transA) with row stride lda; likewise B and C.
   */
  sgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number,
    beta: number, C: Float32Array, ldc: number,
  ): void;

  /**
   * sgemm with A and B in bf16 (Uint16Array of bit patterns, as src/tensor/bf16.ts) and C, alpha,
   * beta and the accumulation in fp32, as OpenBLAS cblas_sbgemm. The products of bf16 values are
   * exact in fp32, so the result differs from sgemm on the same (bf16-valued) inputs only by
   * summation order.
   */
  sbgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Uint16Array, lda: number, B: Uint16Array, ldb: number,
    beta: number, C: Float32Array, ldc: number,
  ): void;

  /** out[N,C] = (inp - mean) * rstd * weight + bias; saves mean[N], rstd[N]. */
  layernorm_forward(
    out: Float32Array, mean: Float32Array, rstd: Float32Array,
    inp: Float32Array, weight: Float32Array, bias: Float32Array, N: number, C: number, eps: number,
  ): void;
  /** Adds into dinp[N,C], dweight[C], dbias[C]. */
  layernorm_backward(
    dinp: Float32Array, dweight: Float32Array, dbias: Float32Array,
    dout: Float32Array, inp: Float32Array, weight: Float32Array, mean: Float32Array, rstd: Float32Array,
    N: number, C: number,
  ): void;

  /** out[N,C] = inp * rstd * weight with rstd[N] = 1/sqrt(mean(inp^2) + eps) (saved). */
  rmsnorm_forward(
    out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number,
  ): void;
  /** Adds into dinp[N,C] and dweight[C]. */
  rmsnorm_backward(
    dinp: Float32Array, dweight: Float32Array, dout: Float32Array, inp: Float32Array, weight: Float32Array,
    rstd: Float32Array, N: number, C: number,
  ): void;

  /** GELU, tanh approximation (GPT-2's "gelu_new"), over n elements. */
  gelu_forward(out: Float32Array, inp: Float32Array, n: number): void;
  /** Adds into dinp[n]. */
  gelu_backward(dinp: Float32Array, dout: Float32Array, inp: Float32Array, n: number): void;

  /** out[n] = silu(gate) * up, the SwiGLU gate of Llama's MLP. */
  swiglu_forward(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void;
  /** Adds into dgate[n] and dup[n]. */
  swiglu_backward(
    dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, n: number,
  ): void;

  /**
   * losses[N] = -log softmax(logits[N,V])[target]; rows whose target is negative are ignored
   * (loss 0). Returns nothing; callers sum losses.
   */
  crossentropy_forward(losses: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void;
  /**
   * Overwrites dlogits[N,V] = (softmax(logits) - onehot(target)) * dloss, zero for ignored rows.
   * dlogits may be the same buffer as logits.
   */
  crossentropy_backward(
    dlogits: Float32Array, logits: Float32Array, targets: Int32Array, dloss: number, N: number, V: number,
  ): void;

  /**
   * One AdamW step over n parameters (decoupled weight decay, bias-corrected, step >= 1):
   * g = grads * gradScale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
   * params -= lr * (mhat / (sqrt(vhat) + eps) + weightDecay * params).
   */
  adamw_update(
    params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number,
  ): void;

  /**
   * Rotary position embedding on x[N, H, D] in place, Hugging Face "rotate_half" layout: channel i
   * pairs with i + D/2, angle = pos[n] * theta^(-2i/D). pos[N] holds global token positions.
   */
  rope_forward(x: Float32Array, pos: Int32Array, N: number, H: number, D: number, theta: number): void;
  /** Rotates dx[N, H, D] back in place (the transpose of rope_forward). */
  rope_backward(dx: Float32Array, pos: Int32Array, N: number, H: number, D: number, theta: number): void;

  /**
   * Attention: out[B,T,H,D] = softmax(scale * q k^T + mask) v, q[B,T,H,D], k,v[B,T,Hkv,D];
   * query head h reads key/value head floor(h / (H/Hkv)). Saves lse[B,H,T], the log-sum-exp
   * of each query's scaled scores, which is all backward needs besides q, k, v, out.
   * A query that sees no key gets out = 0 and lse = -Infinity.
   */
  attention_forward(
    out: Float32Array, lse: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    shape: AttentionShape, mask: AttentionMaskSpec, scale: number,
  ): void;
  /** Overwrites dq[B,T,H,D], dk[B,T,Hkv,D], dv[B,T,Hkv,D]. */
  attention_backward(
    dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array,
    q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
    shape: AttentionShape, mask: AttentionMaskSpec, scale: number,
  ): void;
}
