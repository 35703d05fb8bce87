// Fused attention forward (flash-attention style, fp32): for each query tile, stream over key
// tiles with an online softmax (running max m and sum l per row) and accumulate P @ V; only
// lse[B,H,T] is saved. Scratch is a few tiles per thread: never a T x T matrix. Tiles that the
// causal, sliding-window or document conditions hide entirely are never read (a window w costs
// O(T * w)); a block layout goes to the block-sparse kernel instead (attention_sparse_forward.cc).
//
// Shape legend: B = batch, T = sequence length, H = query heads, Hkv = key/value heads,
// G = H / Hkv, D = head size, Dp = D rounded up to 16, BQ/BK = query/key rows per tile.
#include "attention.h"
#include "attention_sparse.h"

namespace ulysses {

using namespace attn;

namespace {

constexpr int64_t FQ = 16;  // most query tiles per work item; they share each packed key tile

struct FwdArgs {
  float* out;      // [B,T,H,D]
  float* lse;      // [B,H,T]
  const float* q;  // [B,T,H,D]
  const float* k;  // [B,T,Hkv,D]
  const float* v;  // [B,T,Hkv,D]
  float scale;
};

// One thread's tiles; R = query rows of an item.
struct FwdScratch {
  Buf qs;                     // [R][Dp] query rows times scale
  Buf kt;                     // [D][BK] key tile transposed, times log2(e)
  Buf vp;                     // [BK][Dp] value tile
  Buf o;                      // [R][Dp] unnormalised output rows
  Buf p;                      // [RG][BK] probabilities of one row group
  std::vector<float> m, l;    // [R] running max (base 2) and sum
  std::vector<int32_t> kdoc;  // [BK] document ids of the key tile
  FwdScratch(const Geometry& g, int64_t R)
      : qs(R * g.Dp), kt(g.D * BK), vp(BK * g.Dp), o(R * g.Dp), p(RG * BK), m((size_t)R), l((size_t)R), kdoc(BK) {}
};

// Online-softmax update of rows r0..r0+RG (of the item, starting at query i0) against key tile j0.
void row_group(const Geometry& g, FwdScratch& s, int64_t b, int64_t i0, int64_t r0, int64_t j0, int64_t nk,
               Vis vis) {
  const int32_t* kdoc = s.kdoc.data();
  softmax_rows(s.o.data(), s.m.data(), s.l.data(), s.p.data(), s.qs.data(), KeyTile{s.kt.data(), BK, s.vp.data()},
               g.D, g.Dp, nk, r0, vis == Vis::Partial,
               [&](v16 x, int64_t r, int v) { return g.mask(x, b, i0 + r, j0 + 16 * v, kdoc + 16 * v); });
}

// Packs key tile kt of kv head hk: K^T times log2(e) into kt, V into vp, document ids into kdoc.
void pack_kv_tile(const Geometry& g, const FwdArgs& a, FwdScratch& s, int64_t b, int64_t hk, int64_t kt) {
  const int64_t D = g.D, Dp = g.Dp, j0 = kt * BK, nk = g.rows(kt);
  float* ktp = s.kt.data();
  float* vp = s.vp.data();
  for (int64_t j = 0; j < nk; j++) {
    const float* ks = a.k + ((b * g.T + j0 + j) * g.Hkv + hk) * D;  // k row [D]
    for (int64_t d = 0; d < D; d++) ktp[d * BK + j] = ks[d] * LOG2E;
  }
  for (int64_t j = 0; j < nk; j++) {
    const float* vs = a.v + ((b * g.T + j0 + j) * g.Hkv + hk) * D;  // v row [D]
    std::copy(vs, vs + D, vp + j * Dp);
  }
  g.pack_kdoc(s.kdoc.data(), b, kt);
}

// out and lse of query tiles qt0..qt0+fq of head h in batch row b.
void forward_item(const Geometry& g, const FwdArgs& a, FwdScratch& s, int64_t b, int64_t h, int64_t qt0, int64_t fq) {
  const int64_t T = g.T, H = g.H, Hkv = g.Hkv, D = g.D, Dp = g.Dp, hk = h / g.G;
  const int64_t qt1 = std::min(g.nT, qt0 + fq), i0 = qt0 * BQ, nq = std::min(fq * BQ, T - i0);
  const int64_t nrow = (nq + RG - 1) / RG * RG;
  float* qs = s.qs.data();
  float* o = s.o.data();
  for (int64_t r = 0; r < nq; r++) {
    const float* src = a.q + ((b * T + i0 + r) * H + h) * D;  // q row [D]
    for (int64_t d = 0; d < D; d++) qs[r * Dp + d] = src[d] * a.scale;
  }
  std::fill(o, o + nrow * Dp, 0.0f);
  std::fill(s.m.begin(), s.m.end(), -INFINITY);
  std::fill(s.l.begin(), s.l.end(), 0.0f);
  // Tiles above the diagonal or outside the window are never read.
  const int64_t ktEnd = g.end_key_tile(i0 + nq);
  for (int64_t kt = g.first_key_tile(i0); kt < ktEnd; kt++) {
    Vis vis[FQ];
    int64_t groups = 0;  // row groups that see some of this key tile
    for (int64_t qt = qt0; qt < qt1; qt++) {
      vis[qt - qt0] = g.classify(b, qt, kt);
      if (vis[qt - qt0] != Vis::Skip) groups += (std::min(nrow, (qt - qt0 + 1) * BQ) - (qt - qt0) * BQ) / RG;
    }
    if (groups == 0) continue;
    pack_kv_tile(g, a, s, b, hk, kt);
    const int64_t j0 = kt * BK, nk = g.rows(kt);
    // The next key tile's rows are strided through k and v: ask for them a few per row group,
    // so they arrive while this tile computes (all at once would stall on the fill buffers).
    const int64_t next = (b * T + j0 + BK) * Hkv + hk, nNext = kt + 1 < ktEnd ? g.rows(kt + 1) : 0;
    const int64_t perGroup = (nNext + groups - 1) / groups;
    int64_t fetched = 0;
    for (int64_t qt = qt0; qt < qt1; qt++) {
      if (vis[qt - qt0] == Vis::Skip) continue;
      const int64_t rEnd = std::min(nrow, (qt - qt0 + 1) * BQ);
      for (int64_t r0 = (qt - qt0) * BQ; r0 < rEnd; r0 += RG) {
        row_group(g, s, b, i0, r0, j0, nk, vis[qt - qt0]);
        const int64_t n = std::min(perGroup, nNext - fetched);
        if (n > 0) {
          prefetch_rows(a.k + (next + fetched * Hkv) * D, Hkv * D, n, D);
          prefetch_rows(a.v + (next + fetched * Hkv) * D, Hkv * D, n, D);
          fetched += n;
        }
      }
    }
  }
  for (int64_t r = 0; r < nq; r++) {
    float* dst = a.out + ((b * T + i0 + r) * H + h) * D;  // out row [D]
    float l = s.l[(size_t)r];
    float* lse = a.lse + (b * H + h) * T + i0 + r;
    if (l == 0.0f) {  // a query that sees no key
      std::fill(dst, dst + D, 0.0f);
      *lse = -INFINITY;
      continue;
    }
    float inv = 1.0f / l;
    for (int64_t d = 0; d < D; d++) dst[d] = o[r * Dp + d] * inv;
    *lse = (float)((double)s.m[(size_t)r] * LN2 + std::log((double)l));
  }
}

// attention_forward(out, lse, q, k, v, B, T, H, Hkv, D, causal, docIds | null, scale,
//                   [window, layout | null, blockSize, nBlocks, layoutHeads])
void AttentionForward(const Napi::CallbackInfo& info) {
  int64_t B = int_arg(info, 5, "B"), T = int_arg(info, 6, "T"), H = int_arg(info, 7, "H");
  int64_t Hkv = int_arg(info, 8, "Hkv"), D = int_arg(info, 9, "D");
  bool causal = bool_arg(info, 10, "causal");
  if (Hkv < 1 || H % Hkv != 0) {
    throw Napi::RangeError::New(info.Env(), "attention_forward: H must be a multiple of Hkv (Hkv >= 1)");
  }
  size_t nq = (size_t)(B * T * H * D), nkv = (size_t)(B * T * Hkv * D);
  FwdArgs a{};
  a.out = f32_arg(info, 0, "out", nq);
  a.lse = f32_arg(info, 1, "lse", (size_t)(B * H * T));
  a.q = f32_arg(info, 2, "q", nq);
  a.k = f32_arg(info, 3, "k", nkv);
  a.v = f32_arg(info, 4, "v", nkv);
  const int32_t* doc = i32_opt(info, 11, "docIds", (size_t)(B * T), true);
  a.scale = (float)num_arg(info, 12, "scale");
  const MaskExtra extra = mask_extra_args(info, 13, T, H, "attention_forward");
  if (B * T * H == 0) return;
  if (extra.layout) {
    sparse_attention_forward(SparseGeometry(B, T, H, Hkv, D, causal, doc, extra), a.out, a.lse, a.q, a.k, a.v,
                             a.scale);
    return;
  }
  Geometry g(B, T, H, Hkv, D, causal, doc, extra.window);
  // Big items share packed key tiles among more queries; small ones keep the threads balanced.
  const int want = num_threads();
  int64_t fq = FQ;
  while (want > 1 && fq > 1 && B * H * ((g.nT + fq - 1) / fq) < 8 * want) fq /= 2;
  const int64_t perRow = (g.nT + fq - 1) / fq, items = B * H * perRow;
  const int nt = threads_for(items);
  std::vector<FwdScratch> scratch;
  for (int t = 0; t < nt; t++) scratch.emplace_back(g, std::min(fq, g.nT) * BQ);
  // The costliest items (last query tiles under a causal mask) go first for balance.
  parallel_for(items, nt, [&](int64_t n, int tid) {
    int64_t qb = perRow - 1 - n / (B * H), bh = n % (B * H);
    forward_item(g, a, scratch[(size_t)tid], bh / H, bh % H, qb * fq, fq);
  });
}

}  // namespace

void register_attention_forward(Napi::Env env, Napi::Object exports) {
  exports.Set("attention_forward", Napi::Function::New(env, AttentionForward));
}

}  // namespace ulysses
