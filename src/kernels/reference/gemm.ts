// Reference GEMM: C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, row-major, as cblas_sgemm.
// M, N, K = rows of op(A), columns of op(B), shared dimension; lda, ldb, ldc = row strides of the
// matrices as stored (A is [M,K] or [K,M] when transA; B is [K,N] or [N,K] when transB).
import type { Kernels } from '../kernels.js';

export const sgemm: Kernels['sgemm'] = (
  transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
) => {
  if (lda < (transA ? M : K) || ldb < (transB ? K : N) || ldc < N) {
    throw new RangeError('sgemm: leading dimension smaller than the row length');
  }
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      // Double accumulator: this is the exact-as-possible definition the BLAS result is compared with.
      let acc = 0;
      for (let p = 0; p < K; p++) {
        const a = transA ? (A[p * lda + i] as number) : (A[i * lda + p] as number);
        const b = transB ? (B[j * ldb + p] as number) : (B[p * ldb + j] as number);
        acc += a * b;
      }
      const c = i * ldc + j;
      // beta == 0 overwrites C without reading it, so NaN garbage in C is discarded as in BLAS.
      C[c] = beta === 0 ? alpha * acc : alpha * acc + beta * (C[c] as number);
    }
  }
};
