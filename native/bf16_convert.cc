// fp32 <-> bf16 conversion of row blocks, for bf16 communication payloads: rounding to nearest
// even (NaN stays a quiet NaN) as src/tensor/bf16.ts, widening exactly. The loops are plain
// integer arithmetic that the compiler vectorises.
//   f32ToBf16Rows(dst, dOff, src, sOff, rows, rowLen, sStride): dst[dOff + r*rowLen + c] = bf16(src[sOff + r*sStride + c])
//   bf16ToF32Rows(dst, dOff, dStride, src, sOff, rows, rowLen, add): dst[dOff + r*dStride + c] (+)= fp32(src[sOff + r*rowLen + c])
#include <cstring>

#include "common.h"

namespace ulysses {

// Last element index + 1 touched by rows of rowLen with a stride, starting at off.
static size_t extent(int64_t off, int64_t rows, int64_t rowLen, int64_t stride) {
  return rows == 0 || rowLen == 0 ? 0 : (size_t)(off + (rows - 1) * stride + rowLen);
}

static inline uint16_t round_bf16(uint32_t b) {
  uint32_t rounded = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
  uint32_t nan = ((b >> 16) | 0x40u) & 0xffffu;
  return (uint16_t)((b & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

static void F32ToBf16Rows(const Napi::CallbackInfo& info) {
  int64_t dOff = int_arg(info, 1, "dOff");
  int64_t sOff = int_arg(info, 3, "sOff"), rows = int_arg(info, 4, "rows"), rowLen = int_arg(info, 5, "rowLen");
  int64_t sStride = int_arg(info, 6, "sStride");
  uint16_t* dst = u16_arg(info, 0, "dst", extent(dOff, rows, rowLen, rowLen));
  const float* src = f32_arg(info, 2, "src", extent(sOff, rows, rowLen, sStride));
  for (int64_t r = 0; r < rows; r++) {
    const float* s = src + sOff + r * sStride;
    uint16_t* d = dst + dOff + r * rowLen;
    for (int64_t c = 0; c < rowLen; c++) {
      uint32_t b;
      std::memcpy(&b, s + c, 4);
      d[c] = round_bf16(b);
    }
  }
}

static void Bf16ToF32Rows(const Napi::CallbackInfo& info) {
  int64_t dOff = int_arg(info, 1, "dOff"), dStride = int_arg(info, 2, "dStride");
  int64_t sOff = int_arg(info, 4, "sOff"), rows = int_arg(info, 5, "rows"), rowLen = int_arg(info, 6, "rowLen");
  bool add = bool_arg(info, 7, "add");
  float* dst = f32_arg(info, 0, "dst", extent(dOff, rows, rowLen, dStride));
  const uint16_t* src = u16_arg(info, 3, "src", extent(sOff, rows, rowLen, rowLen));
  for (int64_t r = 0; r < rows; r++) {
    const uint16_t* s = src + sOff + r * rowLen;
    float* d = dst + dOff + r * dStride;
    for (int64_t c = 0; c < rowLen; c++) {
      uint32_t b = (uint32_t)s[c] << 16;
      float x;
      std::memcpy(&x, &b, 4);
      d[c] = add ? d[c] + x : x;
    }
  }
}

void register_bf16_convert(Napi::Env env, Napi::Object exports) {
  exports.Set("f32ToBf16Rows", Napi::Function::New(env, F32ToBf16Rows));
  exports.Set("bf16ToF32Rows", Napi::Function::New(env, Bf16ToF32Rows));
}

}  // namespace ulysses
