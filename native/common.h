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

}  // namespace ulysses
