// GEMM through OpenBLAS: C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major.
// M, N, K = rows of op(A), columns of op(B), shared dimension; lda/ldb/ldc = row strides.
#include <cblas.h>

#include "common.h"

namespace ulysses {

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
static void Sgemm(const Napi::CallbackInfo& info) {
  GemmArgs g = gemm_args(info, "sgemm");
  const float* A = f32_arg(info, 6, "A", g.needA);
  const float* B = f32_arg(info, 8, "B", g.needB);
  float* C = f32_arg(info, 11, "C", g.needC);
  if (g.M == 0 || g.N == 0) return;
  cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, (int)g.M, (int)g.N,
              (int)g.K, g.alpha, A, (int)g.lda, B, (int)g.ldb, g.beta, C, (int)g.ldc);
}

void register_gemm(Napi::Env env, Napi::Object exports) { exports.Set("sgemm", Napi::Function::New(env, Sgemm)); }

}  // namespace ulysses
