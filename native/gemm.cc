// GEMM through OpenBLAS: C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major.
// M, N, K = rows of op(A), columns of op(B), shared dimension; lda/ldb/ldc = row strides.
#include <cblas.h>

#include "common.h"

namespace ulysses {

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
static void Sgemm(const Napi::CallbackInfo& info) {
  bool ta = bool_arg(info, 0, "transA");
  bool tb = bool_arg(info, 1, "transB");
  int64_t M = int_arg(info, 2, "M"), N = int_arg(info, 3, "N"), K = int_arg(info, 4, "K");
  float alpha = (float)num_arg(info, 5, "alpha");
  int64_t lda = int_arg(info, 7, "lda"), ldb = int_arg(info, 9, "ldb"), ldc = int_arg(info, 12, "ldc");
  float beta = (float)num_arg(info, 10, "beta");
  // Rows and columns of A and B as stored, to check the buffers are long enough.
  int64_t aRows = ta ? K : M, aCols = ta ? M : K;
  int64_t bRows = tb ? N : K, bCols = tb ? K : N;
  if (lda < aCols || ldb < bCols || ldc < N) {
    throw Napi::RangeError::New(info.Env(), "sgemm: leading dimension smaller than the row length");
  }
  auto need = [](int64_t rows, int64_t cols, int64_t ld) { return rows == 0 ? 0 : (size_t)((rows - 1) * ld + cols); };
  const float* A = f32_arg(info, 6, "A", need(aRows, aCols, lda));
  const float* B = f32_arg(info, 8, "B", need(bRows, bCols, ldb));
  float* C = f32_arg(info, 11, "C", need(M, N, ldc));
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
              alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

void register_gemm(Napi::Env env, Napi::Object exports) { exports.Set("sgemm", Napi::Function::New(env, Sgemm)); }

}  // namespace ulysses
