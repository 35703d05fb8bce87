// Reference bf16 GEMM: C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, row-major, as
// cblas_sbgemm. A and B hold bf16 bit patterns (Uint16Array), C is fp32. M, N, K = rows of op(A),
// columns of op(B), shared dimension; lda, ldb, ldc = row strides of the matrices as stored.
import type { Kernels } from '../kernels.js';
import { bf16ToF32 } from '../../tensor/bf16.js';

export const sbgemm: Kernels['sbgemm'] = (
  transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
) => {
  if (lda < (transA ? M : K) || ldb < (transB ? K : N) || ldc < N) {
    throw new RangeError('sbgemm: leading dimension smaller than the row length');
  }
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      // Double accumulator over exact bf16 values: the definition the BLAS result is compared with.
      let acc = 0;
      for (let p = 0; p < K; p++) {
        const a = bf16ToF32(transA ? (A[p * lda + i] as number) : (A[i * lda + p] as number));
        const b = bf16ToF32(transB ? (B[j * ldb + p] as number) : (B[p * ldb + j] as number));
        acc += a * b;
      }
      const c = i * ldc + j;
      // beta == 0 overwrites C without reading it, as in BLAS.
      C[c] = beta === 0 ? alpha * acc : alpha * acc + beta * (C[c] as number);
    }
  }
};
