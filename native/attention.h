// Shared pieces of the fused attention kernels (attention_forward.cc, attention_backward.cc and
// the block-sparse ones): a parallel loop over work items and the mask geometry (which key tiles
// a query tile sees under the causal, sliding-window and document conditions); the vector
// micro-kernels are in attention_tiles.h.
//
// Shape legend: B = batch, T = sequence length, H = query heads, Hkv = key/value heads,
// G = H / Hkv (query heads per kv head), D = head size, Dp = D rounded up to 16,
// BQ = query rows per tile, BK = keys per tile, nT = tiles per sequence.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "attention_tiles.h"
#include "common.h"

namespace ulysses {
namespace attn {

enum class Vis { Skip, Full, Partial };

// How the causal and sliding-window conditions alone see the keys [j0, j1) from the queries
// [i0, i1): a window w > 0 lets query i see key j only when i - j < w (and j - i < w without causal).
inline Vis band_vis(int64_t i0, int64_t i1, int64_t j0, int64_t j1, bool causal, int64_t window) {
  if (causal && j0 > i1 - 1) return Vis::Skip;
  bool partial = causal && j1 - 1 > i0;
  if (window > 0) {
    if (i0 - (j1 - 1) >= window || (!causal && j0 - (i1 - 1) >= window)) return Vis::Skip;
    partial |= (i1 - 1) - j0 >= window || (!causal && (j1 - 1) - i0 >= window);
  }
  return partial ? Vis::Partial : Vis::Full;
}

// Smallest and largest document id of each block of bs tokens: lo, hi [B, nb].
inline void doc_ranges(std::vector<int32_t>& lo, std::vector<int32_t>& hi, const int32_t* doc, int64_t B, int64_t T,
                       int64_t bs) {
  const int64_t nb = (T + bs - 1) / bs;
  lo.resize((size_t)(B * nb));
  hi.resize((size_t)(B * nb));
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < nb; t++) {
      int32_t l = doc[b * T + t * bs], h = l;
      for (int64_t i = t * bs; i < std::min(T, (t + 1) * bs); i++) {
        l = std::min(l, doc[b * T + i]);
        h = std::max(h, doc[b * T + i]);
      }
      lo[(size_t)(b * nb + t)] = l;
      hi[(size_t)(b * nb + t)] = h;
    }
}

// How document ranges [qlo, qhi] and [klo, khi] see each other: never when disjoint, fully when
// both hold the same single document, otherwise in part.
inline Vis doc_vis(int32_t qlo, int32_t qhi, int32_t klo, int32_t khi) {
  if (qhi < klo || khi < qlo) return Vis::Skip;
  return (qlo == qhi && klo == khi && qlo == klo) ? Vis::Full : Vis::Partial;
}

// Lanes of keys j..j+15 that query i may see under the causal and window conditions.
inline v16i band_ok(v16i jj, int32_t i, bool causal, int64_t window) {
  v16i ok = jj >= INT32_MIN;  // all lanes
  if (causal) ok &= jj <= i;
  if (window > 0) {
    ok &= jj > i - (int32_t)window;
    if (!causal) ok &= jj < i + (int32_t)window;
  }
  return ok;
}

// The attention problem: shape, mask and each tile's document-id range.
struct Geometry {
  int64_t B, T, H, Hkv, D, Dp, G, nT;
  bool causal;
  int64_t window;                 // 0 = unlimited
  const int32_t* doc;             // [B, T] or null
  std::vector<int32_t> dlo, dhi;  // [B, nT] smallest and largest document id in each tile

  Geometry(int64_t B_, int64_t T_, int64_t H_, int64_t Hkv_, int64_t D_, bool causal_, const int32_t* doc_,
           int64_t window_ = 0)
      : B(B_), T(T_), H(H_), Hkv(Hkv_), D(D_), Dp((D_ + 15) / 16 * 16), G(H_ / Hkv_), nT((T_ + BQ - 1) / BQ),
        causal(causal_), window(window_), doc(doc_) {
    static_assert(BQ == BK, "query and key tiles share the document ranges");
    if (doc) doc_ranges(dlo, dhi, doc, B, T, BQ);
  }

  int64_t rows(int64_t tile) const { return std::min(BQ, T - tile * BQ); }

  // Whether query tile qt sees none, all or some of key tile kt (padded keys count as masked).
  Vis classify(int64_t b, int64_t qt, int64_t kt) const {
    int64_t i0 = qt * BQ, i1 = i0 + rows(qt), j0 = kt * BK, j1 = j0 + rows(kt);
    Vis band = band_vis(i0, i1, j0, j1, causal, window);
    if (band == Vis::Skip) return Vis::Skip;
    bool partial = (j1 - j0 < BK) || band == Vis::Partial;
    if (doc) {
      Vis d = doc_vis(dlo[(size_t)(b * nT + qt)], dhi[(size_t)(b * nT + qt)], dlo[(size_t)(b * nT + kt)],
                      dhi[(size_t)(b * nT + kt)]);
      if (d == Vis::Skip) return Vis::Skip;
      partial |= d == Vis::Partial;
    }
    return partial ? Vis::Partial : Vis::Full;
  }

  // Key tiles [first, end) that query rows [i0, i1) may see under the causal and window conditions.
  int64_t first_key_tile(int64_t i0) const { return window > 0 ? std::max<int64_t>(0, i0 - window + 1) / BK : 0; }
  int64_t end_key_tile(int64_t i1) const {
    if (causal) return (i1 - 1) / BK + 1;
    return window > 0 ? std::min(nT, (i1 - 1 + window - 1) / BK + 1) : nT;
  }
  // Query tiles [first, end) that may see key rows [j0, j1).
  int64_t first_query_tile(int64_t j0) const {
    if (causal) return j0 / BQ;
    return window > 0 ? std::max<int64_t>(0, j0 - window + 1) / BQ : 0;
  }
  int64_t end_query_tile(int64_t j1) const { return window > 0 ? std::min(nT, (j1 - 1 + window - 1) / BQ + 1) : nT; }

  // Scores s of query i (global position) against keys j..j+15, with -inf where i may not see
  // the key; kdoc holds those keys' document ids. By value, so the scores stay in registers.
  v16 mask(v16 s, int64_t b, int64_t i, int64_t j, const int32_t* kdoc) const {
    const v16i iota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    v16i jj = iota + (int32_t)j;
    v16i ok = band_ok(jj, (int32_t)i, causal, window) & (jj < (int32_t)T);
    if (doc) ok &= vloadi(kdoc) == doc[b * T + std::min(i, T - 1)];
    return ok ? s : vsplat(-INFINITY);
  }

  // Document ids of key tile kt into kdoc[BK] (padding copies the last real key; it is masked anyway).
  void pack_kdoc(int32_t* kdoc, int64_t b, int64_t kt) const {
    if (!doc) return;
    for (int64_t j = 0; j < BK; j++) kdoc[j] = doc[b * T + std::min(kt * BK + j, T - 1)];
  }
};

// Softmax weights of far-off keys underflow into subnormal floats, on which x86 falls back to a
// slow microcode path (a trained 8K-token model stepped 3x slower); attention kernels flush
// them to zero, as GPUs do, for the kernel's duration only, so JavaScript keeps IEEE subnormals.
struct FlushSubnormals {
#if defined(__x86_64__) || defined(__SSE2__)
  unsigned saved = _mm_getcsr();
  FlushSubnormals() { _mm_setcsr(saved | 0x8040); }  // FTZ (bit 15) and DAZ (bit 6)
  ~FlushSubnormals() { _mm_setcsr(saved); }
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;
#endif
};

// Runs fn(item, thread) for item in [0, n) on nt threads (the caller is thread 0), handing out
// items in order from a shared counter; with one thread everything runs inline. Every thread
// computes with subnormals flushed to zero.
template <class F>
void parallel_for(int64_t n, int nt, F&& fn) {
  FlushSubnormals flush;
  if (nt <= 1 || n <= 1) {
    for (int64_t i = 0; i < n; i++) fn(i, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  auto work = [&](int tid) {
    FlushSubnormals thread_flush;
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

// dd[B,H,T] = rowsum(dout * out) per query row and head, in double: the softmax backward's D term.
inline void row_dots(float* dd, const float* dout, const float* out, int64_t B, int64_t T, int64_t H, int64_t D) {
  parallel_for(B * T, threads_for(B * T / 256), [&](int64_t n, int) {
    const int64_t b = n / T, i = n % T;
    for (int64_t h = 0; h < H; h++) {
      const int64_t row = ((b * T + i) * H + h) * D;  // dout, out row [D]
      double sum = 0;
      for (int64_t d = 0; d < D; d++) sum += (double)dout[row + d] * out[row + d];
      dd[(b * H + h) * T + i] = (float)sum;
    }
  });
}

}  // namespace attn
}  // namespace ulysses
