// Entry point of the ulysses native addon. NODE_API_MODULE makes it context-aware, so the
// same .node file loads in every worker thread (one rank per thread on the threads backend).
#include <atomic>
#include <thread>

#include "common.h"

extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);

namespace ulysses {

static std::atomic<int> g_threads{(int)std::max(1u, std::thread::hardware_concurrency())};

int num_threads() { return g_threads.load(); }
void set_num_threads(int n) { g_threads.store(n < 1 ? 1 : n); }

// setNumThreads(kernelThreads, blasThreads): threads for attention and for OpenBLAS.
static void SetNumThreads(const Napi::CallbackInfo& info) {
  int kernel = (int)int_arg(info, 0, "kernelThreads");
  int blas = (int)int_arg(info, 1, "blasThreads");
  if (kernel < 1 || blas < 1) throw Napi::RangeError::New(info.Env(), "thread counts must be at least 1");
  set_num_threads(kernel);
  openblas_set_num_threads(blas);
}

static Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("kernelThreads", Napi::Number::New(info.Env(), num_threads()));
  out.Set("blasThreads", Napi::Number::New(info.Env(), openblas_get_num_threads()));
  return out;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  register_gemm(env, exports);
  register_sbgemm(env, exports);
  register_bf16_convert(env, exports);
  register_copy(env, exports);
  register_attention_forward(env, exports);
  register_attention_backward(env, exports);
  register_norms(env, exports);
  register_activations(env, exports);
  register_crossentropy(env, exports);
  register_adamw(env, exports);
  register_rope(env, exports);
  register_mpi(env, exports);
  return exports;
}

}  // namespace ulysses

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ulysses::Init(env, exports); }

NODE_API_MODULE(ulysses_native, InitAddon)
