// Plain memory copy between typed arrays, for the threads backend's transfers. V8 copies typed
// arrays that live on a SharedArrayBuffer with word-by-word relaxed-atomic moves, which measured
// 20-45% below memcpy's bandwidth for 64-256 MiB; the backend orders every read after the write
// it depends on with Atomics, so a plain memcpy of the same bytes is safe.
//   copyInto(dst, dstOffset, src): dst[dstOffset + i] = src[i] for i < src.length (same element type)
#include <cstring>

#include "common.h"

namespace ulysses {

struct Typed {
  napi_typedarray_type type;
  size_t length;
  uint8_t* data;
};

// The element type, length and first byte of argument i, a typed array on an ArrayBuffer or a
// SharedArrayBuffer (napi_get_typedarray_info handles both; ArrayBuffer accessors reject the latter).
static Typed typed_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsTypedArray()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + ": expected a typed array");
  }
  Typed t;
  void* data = nullptr;
  napi_status s = napi_get_typedarray_info(info.Env(), info[i], &t.type, &t.length, &data, nullptr, nullptr);
  if (s != napi_ok) throw Napi::TypeError::New(info.Env(), std::string(name) + ": cannot read the typed array");
  t.data = static_cast<uint8_t*>(data);
  return t;
}

static size_t element_size(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;
  }
}

static void CopyInto(const Napi::CallbackInfo& info) {
  Typed dst = typed_arg(info, 0, "dst");
  int64_t dOff = int_arg(info, 1, "dstOffset");
  Typed src = typed_arg(info, 2, "src");
  if (dst.type != src.type) {
    throw Napi::TypeError::New(info.Env(), "copyInto: dst and src must be typed arrays of the same element type");
  }
  if ((size_t)dOff + src.length > dst.length) {
    throw Napi::RangeError::New(info.Env(), "copyInto: " + std::to_string(src.length) + " elements at offset " +
                                                std::to_string(dOff) + " do not fit in dst of " + std::to_string(dst.length));
  }
  size_t elem = element_size(src.type);
  // memmove: a view may overlap its source when both lie on one buffer.
  if (src.length > 0) std::memmove(dst.data + (size_t)dOff * elem, src.data, src.length * elem);
}

void register_copy(Napi::Env env, Napi::Object exports) {
  exports.Set("copyInto", Napi::Function::New(env, CopyInto));
}

}  // namespace ulysses
