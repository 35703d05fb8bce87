// bf16 GEMM: C[M,N] = alpha * op(A) @ op(B) + beta * C with A and B holding bf16 bit patterns
// (uint16) and C, alpha, beta and the accumulation in fp32, row-major, as OpenBLAS cblas_sbgemm.
// M, N, K = rows of op(A), columns of op(B), shared dimension; lda/ldb/ldc = row strides.
//
// cblas_sbgemm exists only in OpenBLAS builds with BUILD_BFLOAT16 (Debian 12's 0.3.21 has the
// declaration but not the symbol), so it is looked up when first needed rather than linked: a
// library without it still loads, and the kernel then widens A and B to fp32 (exact) and runs
// cblas_sgemm, which gives the same values up to fp32 summation order.
#include <cblas.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "common.h"

namespace ulysses {

using SbgemmFn = void (*)(CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
                          const uint16_t*, blasint, const uint16_t*, blasint, float, float*, blasint);

// The library's cblas_sbgemm, or nullptr; ULYSSES_SBGEMM=widen forces the fallback (for tests and timing).
static SbgemmFn find_sbgemm() {
  static SbgemmFn fn = [] {
    const char* force = std::getenv("ULYSSES_SBGEMM");
    if (force && std::strcmp(force, "widen") == 0) return (SbgemmFn) nullptr;
    return (SbgemmFn)dlsym(RTLD_DEFAULT, "cblas_sbgemm");
  }();
  return fn;
}

// dst[rows, cols] (dense) = fp32 of src[rows, cols] with row stride ld: bf16 is the top half of fp32.
static void widen(float* dst, const uint16_t* src, int64_t rows, int64_t cols, int64_t ld) {
  for (int64_t r = 0; r < rows; r++) {
    const uint16_t* s = src + r * ld;
    uint32_t* d = reinterpret_cast<uint32_t*>(dst + r * cols);
    for (int64_t c = 0; c < cols; c++) d[c] = (uint32_t)s[c] << 16;
  }
}

// sbgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
static void Sbgemm(const Napi::CallbackInfo& info) {
  GemmArgs g = gemm_args(info, "sbgemm");
  const uint16_t* A = u16_arg(info, 6, "A", g.needA);
  const uint16_t* B = u16_arg(info, 8, "B", g.needB);
  float* C = f32_arg(info, 11, "C", g.needC);
  if (g.M == 0 || g.N == 0) return;
  CBLAS_TRANSPOSE opA = g.ta ? CblasTrans : CblasNoTrans, opB = g.tb ? CblasTrans : CblasNoTrans;
  if (SbgemmFn fn = find_sbgemm()) {
    fn(CblasRowMajor, opA, opB, (blasint)g.M, (blasint)g.N, (blasint)g.K, g.alpha, A, (blasint)g.lda, B, (blasint)g.ldb,
       g.beta, C, (blasint)g.ldc);
    return;
  }
  std::vector<float> a((size_t)(g.aRows * g.aCols)), b((size_t)(g.bRows * g.bCols));  // A, B as stored, dense fp32
  widen(a.data(), A, g.aRows, g.aCols, g.lda);
  widen(b.data(), B, g.bRows, g.bCols, g.ldb);
  cblas_sgemm(CblasRowMajor, opA, opB, (int)g.M, (int)g.N, (int)g.K, g.alpha, a.data(), (int)g.aCols, b.data(),
              (int)g.bCols, g.beta, C, (int)g.ldc);
}

// sbgemmProvider(): "openblas" when the library's cblas_sbgemm runs, "widen+sgemm" otherwise.
static Napi::Value SbgemmProvider(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), find_sbgemm() ? "openblas" : "widen+sgemm");
}

void register_sbgemm(Napi::Env env, Napi::Object exports) {
  exports.Set("sbgemm", Napi::Function::New(env, Sbgemm));
  exports.Set("sbgemmProvider", Napi::Function::New(env, SbgemmProvider));
}

}  // namespace ulysses
