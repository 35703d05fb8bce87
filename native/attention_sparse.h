// Block-sparse attention (attention_sparse_forward.cc, attention_sparse_backward.cc): the mask
// arguments the dense kernels share, the layout geometry per (query block, key block) pair, and
// the gathering of the blocks one block sees into 64-lane tiles, so that cost follows the number
// of visible blocks and any block size works.
//
// Shape legend: B, T, H, Hkv, G, D, Dp as in attention.h; bs = tokens per layout block,
// nb = ceil(T / bs) blocks per sequence, Lh = layout heads (1 or H), ldp = row stride of a panel
// (a transposed [D][T] copy of one head of q, k or dout, padded so rows do not alias in cache).
#pragma once
#include <memory>
#include <string>

#include "attention.h"

namespace ulysses {
namespace attn {

// The optional trailing mask arguments: sliding window and block layout.
struct MaskExtra {
  int64_t window = 0;               // 0 = unlimited
  const uint8_t* layout = nullptr;  // [Lh, nb, nb] 0/1 per (query block, key block), or null (dense)
  int64_t bs = 0, nb = 0, lheads = 0;
};

// Reads [window, layout | null, blockSize, nBlocks, layoutHeads] from argument i on; all may be absent.
inline MaskExtra mask_extra_args(const Napi::CallbackInfo& info, size_t i, int64_t T, int64_t H, const char* fn) {
  MaskExtra m;
  auto absent = [&](size_t j) { return j >= info.Length() || info[j].IsUndefined() || info[j].IsNull(); };
  if (!absent(i)) m.window = int_arg(info, i, "window");
  if (m.window >= T) m.window = 0;  // a window as long as the sequence hides nothing (and stays in int32)
  if (absent(i + 1)) return m;
  if (!info[i + 1].IsTypedArray() || info[i + 1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": blockLayout.mask must be a Uint8Array");
  }
  auto arr = info[i + 1].As<Napi::Uint8Array>();
  m.bs = int_arg(info, i + 2, "blockSize");
  m.nb = int_arg(info, i + 3, "nBlocks");
  m.lheads = int_arg(info, i + 4, "layoutHeads");
  auto fail = [&](const std::string& why) { throw Napi::RangeError::New(info.Env(), std::string(fn) + ": " + why); };
  if (m.bs < 1) fail("blockLayout.blockSize must be at least 1");
  if (m.nb != (T + m.bs - 1) / m.bs) {
    fail("blockLayout.nBlocks is " + std::to_string(m.nb) + ", T = " + std::to_string(T) + " needs " +
         std::to_string((T + m.bs - 1) / m.bs));
  }
  if (m.lheads != 1 && m.lheads != H) fail("blockLayout.heads must be 1 or H = " + std::to_string(H));
  if ((int64_t)arr.ElementLength() < m.lheads * m.nb * m.nb) {
    fail("blockLayout.mask has " + std::to_string(arr.ElementLength()) + " elements, needs " +
         std::to_string(m.lheads * m.nb * m.nb));
  }
  m.layout = arr.Data();
  return m;
}

// A run of consecutive token positions of one head, gathered into lanes as a unit.
struct Run {
  int64_t pos, len, head;
  bool partial;  // some pair of this run and the other side's block needs the element mask
};

// Appends r, merging it into the previous run when it continues it (neighbouring visible blocks
// then fill whole tiles that can be read in place).
inline void push_run(std::vector<Run>& runs, const Run& r) {
  if (!runs.empty()) {
    Run& last = runs.back();
    if (last.head == r.head && last.pos + last.len == r.pos) {
      last.len += r.len;
      last.partial |= r.partial;
      return;
    }
  }
  runs.push_back(r);
}

// Part of a run placed in a tile: positions pos..pos+n of head `head` go to lanes lane..lane+n.
struct Piece {
  int64_t pos, n, lane, head;
};

// Cuts the runs, in order, into tiles of up to BK lanes and calls tile(pieces, count, n, masked)
// for each: n lanes filled from `count` pieces, masked when any piece needs the element mask.
template <class Tile>
void for_each_tile(const std::vector<Run>& runs, Tile&& tile) {
  Piece pieces[BK];
  size_t ri = 0;
  int64_t off = 0;
  while (ri < runs.size()) {
    int64_t n = 0, count = 0;
    bool masked = false;
    while (n < BK && ri < runs.size()) {
      const Run& r = runs[ri];
      const int64_t take = std::min(BK - n, r.len - off);
      pieces[count++] = Piece{r.pos + off, take, n, r.head};
      masked |= r.partial;
      n += take;
      off += take;
      if (off == r.len) {
        ri++;
        off = 0;
      }
    }
    tile(pieces, count, n, masked);
  }
}

// The block-sparse problem: shape, causal/window/document conditions and the block layout.
struct SparseGeometry {
  int64_t B, T, H, Hkv, D, Dp, G;
  bool causal;
  int64_t window;
  const int32_t* doc;  // [B, T] or null
  const uint8_t* layout;
  int64_t bs, nb, lheads, ldp;
  std::vector<int32_t> dlo, dhi;  // [B, nb] smallest and largest document id in each block

  SparseGeometry(int64_t B_, int64_t T_, int64_t H_, int64_t Hkv_, int64_t D_, bool causal_, const int32_t* doc_,
                 const MaskExtra& m)
      : B(B_), T(T_), H(H_), Hkv(Hkv_), D(D_), Dp((D_ + 15) / 16 * 16), G(H_ / Hkv_), causal(causal_),
        window(m.window), doc(doc_), layout(m.layout), bs(m.bs), nb(m.nb), lheads(m.lheads),
        ldp((T_ + 15) / 16 * 16 + 16) {
    if (doc) doc_ranges(dlo, dhi, doc, B, T, bs);
  }

  int64_t len(int64_t blk) const { return std::min(bs, T - blk * bs); }

  // Whether query block qb of head h sees none, all or some of key block kb.
  Vis classify(int64_t b, int64_t h, int64_t qb, int64_t kb) const {
    if (!layout[((lheads == 1 ? 0 : h) * nb + qb) * nb + kb]) return Vis::Skip;
    const int64_t i0 = qb * bs, j0 = kb * bs;
    Vis v = band_vis(i0, i0 + len(qb), j0, j0 + len(kb), causal, window);
    if (v == Vis::Skip || !doc) return v;
    Vis d = doc_vis(dlo[(size_t)(b * nb + qb)], dhi[(size_t)(b * nb + qb)], dlo[(size_t)(b * nb + kb)],
                    dhi[(size_t)(b * nb + kb)]);
    return d == Vis::Full ? v : d;
  }

  // Key blocks [first, end) that query block qb may see under the causal and window conditions.
  int64_t first_key_block(int64_t qb) const { return window > 0 ? std::max<int64_t>(0, qb * bs - window + 1) / bs : 0; }
  int64_t end_key_block(int64_t qb) const {
    const int64_t i1 = qb * bs + len(qb);
    if (causal) return (i1 - 1) / bs + 1;
    return window > 0 ? std::min(nb, (i1 - 1 + window - 1) / bs + 1) : nb;
  }
  // Query blocks [first, end) that may see key block kb.
  int64_t first_query_block(int64_t kb) const {
    if (causal) return kb;
    return window > 0 ? std::max<int64_t>(0, kb * bs - window + 1) / bs : 0;
  }
  int64_t end_query_block(int64_t kb) const {
    const int64_t j1 = kb * bs + len(kb);
    return window > 0 ? std::min(nb, (j1 - 1 + window - 1) / bs + 1) : nb;
  }

  // Scores of query i against the key lanes at positions kpos[16] (-1 = padding), documents kdoc[16].
  v16 key_mask(v16 s, int64_t b, int64_t i, const int32_t* kpos, const int32_t* kdoc) const {
    v16i jj = vloadi(kpos);
    v16i ok = band_ok(jj, (int32_t)i, causal, window) & (jj >= 0);
    if (doc) ok &= vloadi(kdoc) == doc[b * T + std::min(i, T - 1)];
    return ok ? s : vsplat(-INFINITY);
  }

  // Scores of key j against the query lanes at positions qpos[16], documents qdoc[16] (backward).
  v16 query_mask(v16 s, int64_t b, int64_t j, const int32_t* qpos, const int32_t* qdoc) const {
    v16i ii = vloadi(qpos);
    v16i ok = ii >= 0;
    if (causal) ok &= ii >= (int32_t)j;
    if (window > 0) {
      ok &= ii < (int32_t)(j + window);
      if (!causal) ok &= ii > (int32_t)(j - window);
    }
    if (doc) ok &= vloadi(qdoc) == doc[b * T + j];
    return ok ? s : vsplat(-INFINITY);
  }
};

// One butterfly stage of a 16 x 16 transpose: rows a and b (S apart) swap bit log2(S) of their
// row and column index, with the two-input shuffles each stage's lane pattern needs.
inline void swap1(v16& a, v16& b) {
  v16 x = a;
  a = __builtin_shufflevector(x, b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
  b = __builtin_shufflevector(x, b, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
}
inline void swap2(v16& a, v16& b) {
  v16 x = a;
  a = __builtin_shufflevector(x, b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
  b = __builtin_shufflevector(x, b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
}
inline void swap4(v16& a, v16& b) {
  v16 x = a;
  a = __builtin_shufflevector(x, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
  b = __builtin_shufflevector(x, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
}
inline void swap8(v16& a, v16& b) {
  v16 x = a;
  a = __builtin_shufflevector(x, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  b = __builtin_shufflevector(x, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
}

// Transposes 16 vectors in place: m[r][c] becomes m[c][r].
inline void transpose16(v16 (&m)[16]) {
  for (int r = 0; r < 16; r++)
    if (!(r & 1)) swap1(m[r], m[r + 1]);
  for (int r = 0; r < 16; r++)
    if (!(r & 2)) swap2(m[r], m[r + 2]);
  for (int r = 0; r < 16; r++)
    if (!(r & 4)) swap4(m[r], m[r + 4]);
  for (int r = 0; r < 8; r++) swap8(m[r], m[r + 8]);
}

// panel[D][ldp] = x[b, t0:t1, h, :] * s transposed (x is [B,T,Hx,D]), so that a run of positions
// of one channel is contiguous and gathering it into a lane tile is a plain copy. Whole 16 x 16
// squares go through registers; the edges are copied one by one.
inline void pack_panel(float* panel, const float* x, int64_t b, int64_t h, int64_t t0, int64_t t1, int64_t T,
                       int64_t Hx, int64_t D, int64_t ldp, float s) {
  const int64_t stride = Hx * D;  // between positions in x
  const float* base = x + (b * T * Hx + h) * D;  // x[b, 0, h, 0]
  int64_t t = t0;
  for (; t + 16 <= t1; t += 16) {
    int64_t d = 0;
    for (; d + 16 <= D; d += 16) {
      v16 m[16];
      for (int r = 0; r < 16; r++) m[r] = vload(base + (t + r) * stride + d) * s;
      transpose16(m);
      for (int c = 0; c < 16; c++) vstore(panel + (d + c) * ldp + t, m[c]);
    }
    for (; d < D; d++)
      for (int64_t r = 0; r < 16; r++) panel[d * ldp + t + r] = base[(t + r) * stride + d] * s;
  }
  for (; t < t1; t++)
    for (int64_t d = 0; d < D; d++) panel[d * ldp + t] = base[t * stride + d] * s;
}

// rows[t][Dp] = x[b, t, h, :] * s for t in [t0, t1), padding columns zero: one head's rows
// contiguous, so a run of positions is one block of memory.
inline void pack_rows(float* rows, const float* x, int64_t b, int64_t h, int64_t t0, int64_t t1, int64_t T,
                      int64_t Hx, int64_t D, int64_t Dp, float s) {
  for (int64_t t = t0; t < t1; t++) {
    copy_scaled(rows + t * Dp, x + ((b * T + t) * Hx + h) * D, D, s);
    std::fill(rows + t * Dp + D, rows + (t + 1) * Dp, 0.0f);
  }
}

// Uninitialised float scratch: the panels are written in full before use, so zeroing is wasted.
inline std::unique_ptr<float[]> floats(int64_t n) { return std::unique_ptr<float[]>(new float[(size_t)n]); }

// Copies positions pos..pos+n of a panel [D][ldp] into lanes lane..lane+n of a tile [D][BK].
inline void gather_panel(float* tile, int64_t lane, const float* panel, int64_t ldp, int64_t pos, int64_t n,
                         int64_t D) {
  for (int64_t d = 0; d < D; d++) copy_floats(tile + d * BK + lane, panel + d * ldp + pos, n);
}

void sparse_attention_forward(const SparseGeometry& g, float* out, float* lse, const float* q, const float* k,
                              const float* v, float scale);
void sparse_attention_backward(const SparseGeometry& g, float* dq, float* dk, float* dv, const float* dout,
                               const float* q, const float* k, const float* v, const float* out, const float* lse,
                               float scale);

}  // namespace attn
}  // namespace ulysses
