// Shared helpers for the ulysses native addon: argument checking and typed-array access.
// Every exported kernel checks its arguments here, then calls a plain C++ function.
#pragma once
#include <napi.h>
#include <cstdint>
#include <string>

namespace ulysses {

// Reads argument i as a Float32Array and checks it holds at least `need` elements.
inline float* f32_arg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t need) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + ": expected a Float32Array");
  }
  auto a = info[i].As<Napi::Float32Array>();
  if (a.ElementLength() < need) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + ": has " + std::to_string(a.ElementLength()) +
                                                " elements, the shape needs " + std::to_string(need));
  }
  return a.Data();
}

// Reads argument i as a Uint16Array of bf16 bits with at least `need` elements.
inline uint16_t* u16_arg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t need) {
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

// Like f32_arg but accepts null (returns nullptr) for optional buffers.
inline float* f32_opt(const Napi::CallbackInfo& info, size_t i, const char* name, size_t need) {
  if (i < info.Length() && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
  return f32_arg(info, i, name, need);
}

// Reads argument i as an Int32Array (or null when optional) with at least `need` elements.
inline int32_t* i32_opt(const Napi::CallbackInfo& info, size_t i, const char* name, size_t need, bool optional) {
  if (optional && i < info.Length() && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + ": expected an Int32Array");
  }
  auto a = info[i].As<Napi::Int32Array>();
  if (a.ElementLength() < need) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + ": has " + std::to_string(a.ElementLength()) +
                                                " elements, the shape needs " + std::to_string(need));
  }
  return a.Data();
}

inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + ": expected a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v != (double)(int64_t)v) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + ": expected a non-negative integer");
  }
  return (int64_t)v;
}

inline double num_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + ": expected a number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

inline bool bool_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + ": expected a boolean");
  }
  return info[i].As<Napi::Boolean>().Value();
}

// Thread count used by the multithreaded kernels of this addon (attention); per process.
int num_threads();
void set_num_threads(int n);

// Each source file registers its kernels on the addon's exports.
// The checked scalar arguments of a GEMM call (transA, transB, M, N, K, alpha, A, lda, B, ldb, beta,
// C, ldc): rows and columns of A and B as stored, and the elements each buffer must hold.
struct GemmArgs {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  int64_t aRows, aCols, bRows, bCols;
  size_t needA, needB, needC;
};

inline GemmArgs gemm_args(const Napi::CallbackInfo& info, const char* name) {
  GemmArgs g;
  g.ta = bool_arg(info, 0, "transA");
  g.tb = bool_arg(info, 1, "transB");
  g.M = int_arg(info, 2, "M"), g.N = int_arg(info, 3, "N"), g.K = int_arg(info, 4, "K");
  g.alpha = (float)num_arg(info, 5, "alpha");
  g.lda = int_arg(info, 7, "lda"), g.ldb = int_arg(info, 9, "ldb"), g.ldc = int_arg(info, 12, "ldc");
  g.beta = (float)num_arg(info, 10, "beta");
  g.aRows = g.ta ? g.K : g.M, g.aCols = g.ta ? g.M : g.K;
  g.bRows = g.tb ? g.N : g.K, g.bCols = g.tb ? g.K : g.N;
  if (g.lda < g.aCols || g.ldb < g.bCols || g.ldc < g.N) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + ": leading dimension smaller than the row length");
  }
  auto need = [](int64_t rows, int64_t cols, int64_t ld) { return rows == 0 ? 0 : (size_t)((rows - 1) * ld + cols); };
  g.needA = need(g.aRows, g.aCols, g.lda), g.needB = need(g.bRows, g.bCols, g.ldb), g.needC = need(g.M, g.N, g.ldc);
  return g;
}

void register_gemm(Napi::Env env, Napi::Object exports);
void register_sbgemm(Napi::Env env, Napi::Object exports);
void register_bf16_convert(Napi::Env env, Napi::Object exports);
void register_attention_forward(Napi::Env env, Napi::Object exports);
void register_attention_backward(Napi::Env env, Napi::Object exports);
void register_norms(Napi::Env env, Napi::Object exports);
void register_activations(Napi::Env env, Napi::Object exports);
void register_crossentropy(Napi::Env env, Napi::Object exports);
void register_adamw(Napi::Env env, Napi::Object exports);
void register_rope(Napi::Env env, Napi::Object exports);
void register_mpi(Napi::Env env, Napi::Object exports);
void register_copy(Napi::Env env, Napi::Object exports);

}  // namespace ulysses
