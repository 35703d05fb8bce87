// Internals shared by the MPI binding's source files: process-wide state, the request table and
// argument checking. Only mpi.cc and mpi_collectives.cc include it (built when Open MPI is present).
#pragma once
#include <mpi.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common.h"

namespace ulysses {
namespace mpi {

extern std::mutex g_mu;  // guards the process-wide MPI state below; MPI itself runs unlocked
extern bool g_inited, g_finalized;
extern std::vector<MPI_Comm> g_comms;  // handle -> communicator; 0 is world, MPI_COMM_NULL once freed
extern MPI_Op g_bf16_sum, g_bf16_max;

// A request in flight: it holds the typed arrays MPI reads or writes and the count arrays MPI
// reads until completion, so neither the GC nor the caller can pull them away early.
struct Pending {
  napi_env env;
  std::vector<MPI_Request> reqs;
  std::vector<Napi::Reference<Napi::Value>> keep;
  std::vector<int> ints;
};
extern std::map<int64_t, std::unique_ptr<Pending>>* g_pending;
extern int64_t g_next_id;

struct Buf {
  void* data = nullptr;
  size_t length = 0, elem = 1;
  MPI_Datatype type = MPI_BYTE;
  napi_typedarray_type kind = napi_uint8_array;
  int count() const { return (int)length; }
  char* at(int64_t i) const { return static_cast<char*>(data) + i * (int64_t)elem; }
};

inline bool overlap(const Buf& a, const Buf& b) {
  auto x = (uintptr_t)a.data, y = (uintptr_t)b.data;
  return a.length && b.length && x < y + b.length * b.elem && y < x + a.length * a.elem;
}

// Argument reading and error reporting for one export call; every message starts with its name.
struct Call {
  const Napi::CallbackInfo& info;
  Napi::Env env;
  const char* name;
  Call(const Napi::CallbackInfo& i, const char* n) : info(i), env(i.Env()), name(n) {}

  [[noreturn]] void fail(const std::string& msg, bool range = true) const {
    if (range) throw Napi::RangeError::New(env, std::string(name) + ": " + msg);
    throw Napi::TypeError::New(env, std::string(name) + ": " + msg);
  }
  // A call made in the wrong state (before mpiInit, after mpiFinalize, ...): a plain Error.
  [[noreturn]] void state(const std::string& msg) const { throw Napi::Error::New(env, std::string(name) + ": " + msg); }
  void check(int rc) const {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, text, &n);
    throw Napi::Error::New(env, std::string(name) + ": MPI error: " + std::string(text, n));
  }
  bool absent(size_t i) const { return i >= info.Length() || info[i].IsNull() || info[i].IsUndefined(); }

  int64_t integer(size_t i, const char* what, int64_t lo, int64_t hi) const {
    if (i >= info.Length() || !info[i].IsNumber()) fail(std::string(what) + ": expected a number", false);
    double v = info[i].As<Napi::Number>().DoubleValue();
    // Range first, so NaN and huge values never reach the integer conversion.
    if (!(v >= (double)lo && v <= (double)hi) || v != std::floor(v)) {
      fail(std::string(what) + " is " + info[i].ToString().Utf8Value() + ", expected an integer in [" +
           std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return (int64_t)v;
  }

  Buf buf(size_t i, const char* what) const {
    napi_typedarray_type kind;
    size_t length = 0;
    void* data = nullptr;
    if (i >= info.Length() || !info[i].IsTypedArray() ||
        napi_get_typedarray_info(env, info[i], &kind, &length, &data, nullptr, nullptr) != napi_ok) {
      fail(std::string(what) + ": expected a typed array", false);
    }
    Buf b;
    b.data = data, b.length = length, b.kind = kind;
    switch (kind) {
      case napi_float32_array: b.type = MPI_FLOAT, b.elem = 4; break;
      case napi_float64_array: b.type = MPI_DOUBLE, b.elem = 8; break;
      case napi_int32_array: b.type = MPI_INT32_T, b.elem = 4; break;
      case napi_uint16_array: b.type = MPI_UINT16_T, b.elem = 2; break;
      case napi_uint8_array: b.type = MPI_UINT8_T, b.elem = 1; break;
      default:
        fail(std::string(what) + ": expected a Float32Array, Float64Array, Int32Array, Uint16Array or Uint8Array", false);
    }
    if (length > (size_t)INT_MAX) {
      fail(std::string(what) + " has " + std::to_string(length) + " elements, more than INT_MAX");
    }
    return b;
  }
  void same_type(const Buf& a, const Buf& b) const {
    if (a.kind != b.kind) fail("send and recv must be typed arrays of the same type", false);
  }

  // 'sum' or 'max'; a Uint16Array holds bf16 bits and reduces through the custom bf16 ops.
  MPI_Op op(size_t i, const Buf& b) const {
    std::string s = i < info.Length() && info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : "";
    if (s != "sum" && s != "max") fail("op must be 'sum' or 'max'", false);
    if (b.kind == napi_uint16_array) return s == "sum" ? g_bf16_sum : g_bf16_max;
    if (b.kind == napi_uint8_array) {
      fail("reductions take Float32Array, Float64Array, Int32Array or Uint16Array (bf16)", false);
    }
    return s == "sum" ? MPI_SUM : MPI_MAX;
  }

  // Communicator handle argument (absent means world); also checks that MPI is initialised.
  MPI_Comm comm(size_t i, int* rank = nullptr, int* size = nullptr) const {
    int64_t h = absent(i) ? 0 : integer(i, "comm", 0, INT_MAX);
    MPI_Comm c;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      if (!g_inited || g_finalized) state(g_finalized ? "MPI is already finalized" : "call mpiInit() first");
      if ((size_t)h >= g_comms.size() || g_comms[h] == MPI_COMM_NULL) {
        fail("no communicator with handle " + std::to_string(h));
      }
      c = g_comms[h];
    }
    if (rank) MPI_Comm_rank(c, rank);
    if (size) MPI_Comm_size(c, size);
    return c;
  }

  // One non-negative count per member of the communicator, from an Int32Array.
  std::vector<int> counts(size_t i, const char* what, int size) const {
    if (i >= info.Length() || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      fail(std::string(what) + ": expected an Int32Array", false);
    }
    auto a = info[i].As<Napi::Int32Array>();
    if (a.ElementLength() != (size_t)size) {
      fail(std::string(what) + " has " + std::to_string(a.ElementLength()) + " entries, the communicator has " +
           std::to_string(size) + " ranks");
    }
    for (int j = 0; j < size; j++) {
      if (a[j] < 0) fail(std::string(what) + "[" + std::to_string(j) + "] is negative");
    }
    return std::vector<int>(a.Data(), a.Data() + size);
  }

  // Displacements from argument i, or packed (prefix sums of counts) when it is null.
  std::vector<int> displs(size_t i, const char* what, const std::vector<int>& cnt) const {
    if (!absent(i)) return counts(i, what, (int)cnt.size());
    std::vector<int> d(cnt.size());
    int64_t off = 0;
    for (size_t j = 0; j < cnt.size(); j++) d[j] = (int)off, off += cnt[j];
    if (off > INT_MAX) fail(std::string(what) + ": packed layout exceeds INT_MAX elements");
    return d;
  }

  // Every block [displs[j], displs[j] + counts[j]) must lie inside the buffer.
  void layout(const std::vector<int>& cnt, const std::vector<int>& dsp, const Buf& b, const char* what) const {
    for (size_t j = 0; j < cnt.size(); j++) {
      if ((int64_t)dsp[j] + cnt[j] > (int64_t)b.length) {
        fail(std::string(what) + " block " + std::to_string(j) + " ends at " + std::to_string((int64_t)dsp[j] + cnt[j]) +
             " but the buffer has " + std::to_string(b.length) + " elements");
      }
    }
  }

  // A request that keeps arguments `args` alive; `ints` is sized before MPI sees its pointers.
  std::unique_ptr<Pending> pending(std::initializer_list<size_t> args, size_t nints = 0) const {
    auto p = std::make_unique<Pending>();
    p->env = env;
    for (size_t i : args) {
      if (!absent(i)) p->keep.push_back(Napi::Persistent(info[i]));
    }
    p->ints.resize(nints);
    return p;
  }
  Napi::Value submit(std::unique_ptr<Pending> p) const {
    std::lock_guard<std::mutex> lock(g_mu);
    int64_t id = g_next_id++;
    (*g_pending)[id] = std::move(p);
    return Napi::Number::New(env, (double)id);
  }
};

void register_collectives(Napi::Env env, Napi::Object exports);

}  // namespace mpi
}  // namespace ulysses
