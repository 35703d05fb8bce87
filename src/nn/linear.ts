// Dense projections through kernels.sgemm, in the two weight layouts the Hugging Face models use:
// GPT-2's Conv1D keeps W as [IN, OUT] (out = inp @ W + b); nn.Linear keeps W as [OUT, IN]
// (out = inp @ W^T). Transposes are sgemm flags, never copies.
//
// Shape legend: N = rows (B*T tokens), IN = input features, OUT = output features,
// ldw = row stride of W, which lets a caller project onto a column block of a fused weight
// (GPT-2's c_attn [C, 3C] split into q, k, v without a copy).
import type { Kernels } from '../kernels/kernels.js';

/**
 * out[N,OUT] = inp[N,IN] @ weight[IN,OUT](row stride ldw) + bias[OUT], plus resid[N,OUT] when given
 * (resid may be out itself, for an in-place residual add).
 */
export function conv1d_forward(
  k: Kernels, out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array,
  N: number, IN: number, OUT: number, ldw: number = OUT, resid: Float32Array | null = null,
): void {
  // Seeding out with bias (and the residual) lets the GEMM accumulate with beta = 1 in one pass.
  if (resid) {
    if (resid !== out) out.set(resid.subarray(0, N * OUT));
    // Rank-1 update out += ones[N,1] @ bias[1,OUT]: BLAS does this several times faster than a JS loop.
    k.sgemm(false, false, N, OUT, 1, 1, onesOf(N), 1, bias, OUT, 1, out, OUT);
  } else {
    const b = bias.subarray(0, OUT); // [OUT]
    for (let n = 0; n < N; n++) out.set(b, n * OUT);
  }
  k.sgemm(false, false, N, OUT, IN, 1, inp, IN, weight, ldw, 1, out, OUT);
}

/** Adds into dinp[N,IN], dweight[IN,OUT](row stride ldw) and dbias[OUT]. */
export function conv1d_backward(
  k: Kernels, dinp: Float32Array, dweight: Float32Array, dbias: Float32Array,
  dout: Float32Array, inp: Float32Array, weight: Float32Array,
  N: number, IN: number, OUT: number, ldw: number = OUT,
): void {
  conv1d_backward_input(k, dinp, dout, weight, N, IN, OUT, ldw);
  conv1d_backward_weight(k, dweight, dbias, dout, inp, N, IN, OUT, ldw);
}

/** conv1d_backward's input half: adds into dinp[N,IN] (split out so communication can start before the weight half). */
export function conv1d_backward_input(
  k: Kernels, dinp: Float32Array, dout: Float32Array, weight: Float32Array,
  N: number, IN: number, OUT: number, ldw: number = OUT,
): void {
  k.sgemm(false, true, N, IN, OUT, 1, dout, OUT, weight, ldw, 1, dinp, IN);
}

/** conv1d_backward's weight half: adds into dweight[IN,OUT](row stride ldw) and dbias[OUT]. */
export function conv1d_backward_weight(
  k: Kernels, dweight: Float32Array, dbias: Float32Array, dout: Float32Array, inp: Float32Array,
  N: number, IN: number, OUT: number, ldw: number = OUT,
): void {
  k.sgemm(true, false, IN, OUT, N, 1, inp, IN, dout, OUT, 1, dweight, ldw);
  bias_backward(k, dbias, dout, N, OUT);
}

/** out[N,OUT] = inp[N,IN] @ weight[OUT,IN]^T, plus resid[N,OUT] when given. */
export function linear_forward(
  k: Kernels, out: Float32Array, inp: Float32Array, weight: Float32Array,
  N: number, IN: number, OUT: number, resid: Float32Array | null = null,
): void {
  if (resid && resid !== out) out.set(resid.subarray(0, N * OUT));
  k.sgemm(false, true, N, OUT, IN, 1, inp, IN, weight, IN, resid ? 1 : 0, out, OUT);
}

/** Adds into dinp[N,IN] and dweight[OUT,IN]. */
export function linear_backward(
  k: Kernels, dinp: Float32Array, dweight: Float32Array,
  dout: Float32Array, inp: Float32Array, weight: Float32Array, N: number, IN: number, OUT: number,
): void {
  linear_backward_input(k, dinp, dout, weight, N, IN, OUT);
  linear_backward_weight(k, dweight, dout, inp, N, IN, OUT);
}

/** linear_backward's input half: adds into dinp[N,IN] (split out so communication can start before the weight half). */
export function linear_backward_input(
  k: Kernels, dinp: Float32Array, dout: Float32Array, weight: Float32Array, N: number, IN: number, OUT: number,
): void {
  k.sgemm(false, false, N, IN, OUT, 1, dout, OUT, weight, IN, 1, dinp, IN);
}

/** linear_backward's weight half: adds into dweight[OUT,IN]. */
export function linear_backward_weight(
  k: Kernels, dweight: Float32Array, dout: Float32Array, inp: Float32Array, N: number, IN: number, OUT: number,
): void {
  k.sgemm(true, false, OUT, IN, N, 1, dout, OUT, inp, IN, 1, dweight, IN);
}

/** dbias[OUT] += column sums of dout[N,OUT], as the GEMV ones[1,N] @ dout[N,OUT]. */
export function bias_backward(k: Kernels, dbias: Float32Array, dout: Float32Array, N: number, OUT: number): void {
  k.sgemm(false, false, 1, OUT, N, 1, onesOf(N), N, dout, OUT, 1, dbias, OUT);
}

// A shared read-only vector of ones, grown on demand; nothing ever writes into it.
let ones = new Float32Array(0);

/** [n] ones. */
function onesOf(n: number): Float32Array {
  if (ones.length < n) ones = new Float32Array(Math.max(n, 2 * ones.length)).fill(1);
  return ones.subarray(0, n);
}
