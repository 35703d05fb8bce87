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

// Reads argument i as a Uint16Array (bf16 bits) with at least `need` elements.
static const uint16_t* bf16_arg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t need) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + ": expected a Uint16Array of bf16 bits");
  }
  auto a = info[i].As<Napi::Uint16Array>();
  if (a.ElementLength() < need) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + ": has " + std::to_string(a.ElementLength()) +
                                                " elements, the shape needs " + std::to_string(need));
  }
  return a.Data();
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
  bool ta = bool_arg(info, 0, "transA");
  bool tb = bool_arg(info, 1, "transB");
  int64_t M = int_arg(info, 2, "M"), N = int_arg(info, 3, "N"), K = int_arg(info, 4, "K");
  float alpha = (float)num_arg(info, 5, "alpha");
  int64_t lda = int_arg(info, 7, "lda"), ldb = int_arg(info, 9, "ldb"), ldc = int_arg(info, 12, "ldc");
  float beta = (float)num_arg(info, 10, "beta");
  int64_t aRows = ta ? K : M, aCols = ta ? M : K;
  int64_t bRows = tb ? N : K, bCols = tb ? K : N;
  if (lda < aCols || ldb < bCols || ldc < N) {
    throw Napi::RangeError::New(info.Env(), "sbgemm: leading dimension smaller than the row length");
  }
  auto need = [](int64_t rows, int64_t cols, int64_t ld) { return rows == 0 ? 0 : (size_t)((rows - 1) * ld + cols); };
  const uint16_t* A = bf16_arg(info, 6, "A", need(aRows, aCols, lda));
  const uint16_t* B = bf16_arg(info, 8, "B", need(bRows, bCols, ldb));
  float* C = f32_arg(info, 11, "C", need(M, N, ldc));
  if (M == 0 || N == 0) return;
  CBLAS_TRANSPOSE opA = ta ? CblasTrans : CblasNoTrans, opB = tb ? CblasTrans : CblasNoTrans;
  if (SbgemmFn fn = find_sbgemm()) {
    fn(CblasRowMajor, opA, opB, (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
       (blasint)ldc);
    return;
  }
  std::vector<float> a((size_t)(aRows * aCols)), b((size_t)(bRows * bCols));  // A, B as stored, dense fp32
  widen(a.data(), A, aRows, aCols, lda);
  widen(b.data(), B, bRows, bCols, ldb);
  cblas_sgemm(CblasRowMajor, opA, opB, (int)M, (int)N, (int)K, alpha, a.data(), (int)aCols, b.data(), (int)bCols, beta,
              C, (int)ldc);
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
