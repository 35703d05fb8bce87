// The vector side of the fused attention kernels: 16-lane float vectors with exp2, the tile
// micro-kernels (scores of rows against a tile of keys, register-blocked accumulation), the
// online-softmax step of the forward, short-row copies and aligned scratch.
//
// Shape legend: D = head size, Dp = D rounded up to 16, BQ = query rows per tile, BK = keys per
// tile (four 16-lane vectors), RG = query rows of one online-softmax step.
// Scores are kept in base 2 (s2 = scale * log2(e) * q.k) so the softmax needs only exp2.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ulysses {
namespace attn {

constexpr int64_t BQ = 64;  // query rows per tile
constexpr int64_t BK = 64;  // keys per tile: four 16-lane vectors, one register row of scores
constexpr float LOG2E = 1.4426950408889634f;
constexpr double LN2 = 0.6931471805599453;

// GCC/Clang vector extensions: AVX-512 registers with -march=native, split elsewhere.
typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

inline v16 vload(const float* p) { v16 r; std::memcpy(&r, p, sizeof r); return r; }
inline void vstore(float* p, v16 x) { std::memcpy(p, &x, sizeof x); }
inline v16i vloadi(const int32_t* p) { v16i r; std::memcpy(&r, p, sizeof r); return r; }
inline v16 vsplat(float x) { return v16{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

inline v16 vmax(v16 a, v16 b) { return a > b ? a : b; }

inline float hmax(v16 x) {
  v16 y = __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  x = x > y ? x : y;
  y = __builtin_shufflevector(x, x, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  x = x > y ? x : y;
  y = __builtin_shufflevector(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  x = x > y ? x : y;
  return std::max(x[0], x[1]);
}

inline float hsum(v16 x) {
  x += __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  x += __builtin_shufflevector(x, x, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  x += __builtin_shufflevector(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  return x[0] + x[1];
}

// 2^x per lane for x <= 126, relative error ~2e-7; x <= -127 (masked scores are -inf) gives exactly 0
// because the exponent field of 2^n is then zero.
inline v16 exp2v(v16 x) {
  const v16 lo = vsplat(-127.0f), hi = vsplat(126.0f);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  v16 n = (x + 12582912.0f) - 12582912.0f;  // round to nearest through the 1.5 * 2^23 trick
  v16 f = x - n;                            // f in [-0.5, 0.5]
  // Minimax polynomial for 2^f on [-0.5, 0.5] (fitted for this file, max rel. error 1.6e-8).
  v16 p = vsplat(1.5345779e-4f);
  p = p * f + 1.3399931e-3f;
  p = p * f + 9.6184891e-3f;
  p = p * f + 5.5503286e-2f;
  p = p * f + 2.4022646e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  v16i e = (__builtin_convertvector(n, v16i) + 127) << 23;
  return p * (v16)e;
}

// acc[r][v] = A[r, 0:D] . Bt[0:D, 16v : 16v+16] for R rows: scores (or dP) of R query rows
// against one tile of BK keys, with the keys' side transposed Bt[D][ldb] (packed: ldb = BK).
template <int R>
inline void dot_rows(v16 (&acc)[R][4], const float* A, int64_t lda, const float* Bt, int64_t D, int64_t ldb = BK) {
  for (int r = 0; r < R; r++)
    for (int v = 0; v < 4; v++) acc[r][v] = v16{};
  for (int64_t d = 0; d < D; d++) {
    v16 b0 = vload(Bt + d * ldb), b1 = vload(Bt + d * ldb + 16), b2 = vload(Bt + d * ldb + 32),
        b3 = vload(Bt + d * ldb + 48);
    for (int r = 0; r < R; r++) {
      v16 a = vsplat(A[r * lda + d]);
      acc[r][0] += a * b0;
      acc[r][1] += a * b1;
      acc[r][2] += a * b2;
      acc[r][3] += a * b3;
    }
  }
}

// C[R][16*NV] += W[R][J] @ M[J][16*NV] with W[r][j] = W[r*wr + j*wj]: register block of the
// P @ V, dS @ K, P^T @ dO and dS^T @ Q products, vectorised over the head dimension.
template <int R, int NV>
inline void accum_block(float* C, int64_t ldc, const float* W, int64_t wr, int64_t wj, int64_t J, const float* M,
                        int64_t ldm) {
  v16 acc[R][NV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = vload(C + r * ldc + 16 * v);
  for (int64_t j = 0; j < J; j++) {
    v16 m[NV];
    for (int v = 0; v < NV; v++) m[v] = vload(M + j * ldm + 16 * v);
    for (int r = 0; r < R; r++) {
      v16 w = vsplat(W[r * wr + j * wj]);
      for (int v = 0; v < NV; v++) acc[r][v] += w * m[v];
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) vstore(C + r * ldc + 16 * v, acc[r][v]);
}

template <int NV>
inline void accum_cols(float* C, int64_t ldc, int64_t rows, const float* W, int64_t wr, int64_t wj, int64_t J,
                       const float* M, int64_t ldm) {
  int64_t r = 0;
  if (NV <= 2)  // narrow heads: eight rows keep enough accumulators in flight
    for (; r + 8 <= rows; r += 8) accum_block<8, NV>(C + r * ldc, ldc, W + r * wr, wr, wj, J, M, ldm);
  for (; r < rows; r += 4) accum_block<4, NV>(C + r * ldc, ldc, W + r * wr, wr, wj, J, M, ldm);
}

// C[rows][Dp] += W[rows][J] @ M[J][Dp]; rows is a multiple of 4 and Dp of 16 (buffers are padded).
inline void accum(float* C, int64_t ldc, int64_t rows, const float* W, int64_t wr, int64_t wj, int64_t J,
                  const float* M, int64_t ldm, int64_t Dp) {
  for (int64_t c = 0; c < Dp; c += 64) {
    switch (std::min<int64_t>(4, (Dp - c) / 16)) {
      case 1: accum_cols<1>(C + c, ldc, rows, W, wr, wj, J, M + c, ldm); break;
      case 2: accum_cols<2>(C + c, ldc, rows, W, wr, wj, J, M + c, ldm); break;
      case 3: accum_cols<3>(C + c, ldc, rows, W, wr, wj, J, M + c, ldm); break;
      default: accum_cols<4>(C + c, ldc, rows, W, wr, wj, J, M + c, ldm); break;
    }
  }
}

constexpr int64_t RG = 8;  // query rows whose P @ V the forward accumulates together

// A tile of BK keys as the forward reads it: kt[D][ldk] transposed (base 2), vp[BK][Dp] values.
struct KeyTile {
  const float* kt;
  int64_t ldk;
  const float* vp;
};

// Online-softmax update of query rows r0..r0+RG against one key tile: scores of the rows of
// qs[.][Dp] against K.kt, masked by mask(x, row, v) when `masked`; the running max m[], sum l[]
// and unnormalised output o[.][Dp] are rescaled, then o += P[RG][BK] @ K.vp[0:nk].
template <class MaskFn>
inline void softmax_rows(float* o, float* m, float* l, float* p, const float* qs, const KeyTile& K, int64_t D,
                         int64_t Dp, int64_t nk, int64_t r0, bool masked, MaskFn&& mask) {
  for (int64_t r4 = r0; r4 < r0 + RG; r4 += 4) {
    v16 sc[4][4];  // scores of 4 rows x 64 keys, in registers
    dot_rows<4>(sc, qs + r4 * Dp, Dp, K.kt, D, K.ldk);
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
      v16 x[4] = {sc[r][0], sc[r][1], sc[r][2], sc[r][3]};
      if (masked) {
        for (int v = 0; v < 4; v++) x[v] = mask(x[v], r4 + r, v);
      }
      float* prow = p + (r4 - r0 + r) * BK;
      float& mr = m[r4 + r];
      float& lr = l[r4 + r];
      float mnew = std::max(mr, hmax(vmax(vmax(x[0], x[1]), vmax(x[2], x[3]))));
      if (mnew == -INFINITY) {  // nothing visible yet: this tile adds nothing
        for (int v = 0; v < 4; v++) vstore(prow + 16 * v, v16{});
        continue;
      }
      if (mnew > mr) {  // rescale what earlier tiles summed (alpha = 0 when m = -inf)
        float alpha = exp2v(vsplat(mr - mnew))[0];
        lr *= alpha;
        float* orow = o + (r4 + r) * Dp;
        for (int64_t c = 0; c < Dp; c += 16) vstore(orow + c, vload(orow + c) * alpha);
        mr = mnew;
      }
      v16 sum = v16{};
      for (int v = 0; v < 4; v++) {
        v16 pv = exp2v(x[v] - mnew);
        sum += pv;
        vstore(prow + 16 * v, pv);
      }
      lr += hsum(sum);
    }
  }
  accum(o + r0 * Dp, Dp, RG, p, BK, 1, nk, K.vp, Dp, Dp);
}

// Asks the cache for n rows of D floats, row r at base + r * stride: the next tile's rows, which
// are strided through a [B,T,H,D] tensor and would otherwise stall the packing loops on memory.
inline void prefetch_rows(const float* base, int64_t stride, int64_t n, int64_t D) {
  for (int64_t r = 0; r < n; r++)
    for (int64_t d = 0; d < D; d += 16) __builtin_prefetch(base + r * stride + d);
}

// dst[0:n] = src[0:n] * s, inline and 16 lanes at a time: the rows copied here are short (one
// head, D floats), so a library call per row would cost more than the copy.
inline void copy_scaled(float* dst, const float* src, int64_t n, float s) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) vstore(dst + i, vload(src + i) * s);
  for (; i < n; i++) dst[i] = src[i] * s;
}

// dst[0:n] = src[0:n].
inline void copy_floats(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) vstore(dst + i, vload(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

// dst[0:n] += src[0:n].
inline void add_floats(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) vstore(dst + i, vload(dst + i) + vload(src + i));
  for (; i < n; i++) dst[i] += src[i];
}

// Zeroed float scratch aligned to 64 bytes.
class Buf {
 public:
  explicit Buf(int64_t n) : v_((size_t)n + 16, 0.0f) {}
  float* data() {
    uintptr_t p = reinterpret_cast<uintptr_t>(v_.data());
    return reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
  }
 private:
  std::vector<float> v_;
};

}  // namespace attn
}  // namespace ulysses
