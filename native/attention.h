// Shared pieces of the fused attention kernels (attention_forward.cc, attention_backward.cc):
// a parallel loop over work items, 16-lane float vectors with exp2, the two tile micro-kernels,
// and the mask geometry (which key tiles a query tile sees).
//
// Shape legend: B = batch, T = sequence length, H = query heads, Hkv = key/value heads,
// G = H / Hkv (query heads per kv head), D = head size, Dp = D rounded up to 16,
// BQ = query rows per tile, BK = keys per tile, nT = tiles per sequence.
// Scores are kept in base 2 (s2 = scale * log2(e) * q.k) so the softmax needs only exp2.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "common.h"

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
// against one tile of BK keys, with the keys' side packed transposed Bt[D][BK].
template <int R>
inline void dot_rows(v16 (&acc)[R][4], const float* A, int64_t lda, const float* Bt, int64_t D) {
  for (int r = 0; r < R; r++)
    for (int v = 0; v < 4; v++) acc[r][v] = v16{};
  for (int64_t d = 0; d < D; d++) {
    v16 b0 = vload(Bt + d * BK), b1 = vload(Bt + d * BK + 16), b2 = vload(Bt + d * BK + 32),
        b3 = vload(Bt + d * BK + 48);
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

// Asks the cache for n rows of D floats, row r at base + r * stride: the next tile's rows, which
// are strided through a [B,T,H,D] tensor and would otherwise stall the packing loops on memory.
inline void prefetch_rows(const float* base, int64_t stride, int64_t n, int64_t D) {
  for (int64_t r = 0; r < n; r++)
    for (int64_t d = 0; d < D; d += 16) __builtin_prefetch(base + r * stride + d);
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

enum class Vis { Skip, Full, Partial };

// The attention problem: shape, mask and each tile's document-id range.
struct Geometry {
  int64_t B, T, H, Hkv, D, Dp, G, nT;
  bool causal;
  const int32_t* doc;            // [B, T] or null
  std::vector<int32_t> dlo, dhi;  // [B, nT] smallest and largest document id in each tile

  Geometry(int64_t B_, int64_t T_, int64_t H_, int64_t Hkv_, int64_t D_, bool causal_, const int32_t* doc_)
      : B(B_), T(T_), H(H_), Hkv(Hkv_), D(D_), Dp((D_ + 15) / 16 * 16), G(H_ / Hkv_), nT((T_ + BQ - 1) / BQ),
        causal(causal_), doc(doc_) {
    static_assert(BQ == BK, "query and key tiles share the document ranges");
    if (!doc) return;
    dlo.resize((size_t)(B * nT));
    dhi.resize((size_t)(B * nT));
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = 0; t < nT; t++) {
        int32_t lo = doc[b * T + t * BQ], hi = lo;
        for (int64_t i = t * BQ; i < std::min(T, (t + 1) * BQ); i++) {
          lo = std::min(lo, doc[b * T + i]);
          hi = std::max(hi, doc[b * T + i]);
        }
        dlo[(size_t)(b * nT + t)] = lo;
        dhi[(size_t)(b * nT + t)] = hi;
      }
  }

  int64_t rows(int64_t tile) const { return std::min(BQ, T - tile * BQ); }

  // Whether query tile qt sees none, all or some of key tile kt (padded keys count as masked).
  Vis classify(int64_t b, int64_t qt, int64_t kt) const {
    int64_t i0 = qt * BQ, i1 = i0 + rows(qt), j0 = kt * BK, j1 = j0 + rows(kt);
    if (causal && j0 > i1 - 1) return Vis::Skip;
    bool partial = (j1 - j0 < BK) || (causal && j1 - 1 > i0);
    if (doc) {
      int32_t qlo = dlo[(size_t)(b * nT + qt)], qhi = dhi[(size_t)(b * nT + qt)];
      int32_t klo = dlo[(size_t)(b * nT + kt)], khi = dhi[(size_t)(b * nT + kt)];
      if (qhi < klo || khi < qlo) return Vis::Skip;
      if (!(qlo == qhi && klo == khi && qlo == klo)) partial = true;
    }
    return partial ? Vis::Partial : Vis::Full;
  }

  // Scores s of query i (global position) against keys j..j+15, with -inf where i may not see
  // the key; kdoc holds those keys' document ids. By value, so the scores stay in registers.
  v16 mask(v16 s, int64_t b, int64_t i, int64_t j, const int32_t* kdoc) const {
    const v16i iota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    v16i jj = iota + (int32_t)j;
    v16i ok = jj < (int32_t)T;
    if (causal) ok &= jj <= (int32_t)i;
    if (doc) ok &= vloadi(kdoc) == doc[b * T + std::min(i, T - 1)];
    return ok ? s : vsplat(-INFINITY);
  }

  // Document ids of key tile kt into kdoc[BK] (padding copies the last real key; it is masked anyway).
  void pack_kdoc(int32_t* kdoc, int64_t b, int64_t kt) const {
    if (!doc) return;
    for (int64_t j = 0; j < BK; j++) kdoc[j] = doc[b * T + std::min(kt * BK + j, T - 1)];
  }
};

// Runs fn(item, thread) for item in [0, n) on nt threads (the caller is thread 0), handing out
// items in order from a shared counter; with one thread everything runs inline.
template <class F>
void parallel_for(int64_t n, int nt, F&& fn) {
  if (nt <= 1 || n <= 1) {
    for (int64_t i = 0; i < n; i++) fn(i, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  auto work = [&](int tid) {
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i, tid);
  };
  std::vector<std::thread> pool;
  try {
    for (int t = 1; t < nt; t++) pool.emplace_back(work, t);
  } catch (const std::system_error&) {
    // Out of threads: the ones started and the caller finish the items.
  }
  work(0);
  for (auto& t : pool) t.join();
}

// Threads to use for n work items.
inline int threads_for(int64_t n) { return (int)std::max<int64_t>(1, std::min<int64_t>(num_threads(), n)); }

}  // namespace attn
}  // namespace ulysses
