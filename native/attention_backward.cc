// Fused attention backward (flash-attention 2 style, fp32). Per (query tile, key tile) block it
// recomputes P = exp2(s2 - lse2) from q, k and the saved lse, then dP = dO V^T and
// dS = P * (dP - Dd) with Dd = rowsum(dO * O), and accumulates dV += P^T dO, dK += dS^T Q and
// dQ += dS K (the scale is folded into the packed Q and K). Overwrites dq, dk, dv. Blocks hidden
// entirely by the causal, window or document conditions are skipped; a block layout goes to the
// block-sparse kernel instead (attention_sparse_backward.cc).
//
// Race-free and deterministic: a worker owns a whole (b, kv head) group (dk, dv and the dq of
// its query heads) when there are enough groups; otherwise one pass owns key tiles (dk, dv) and a
// second owns query tiles (dq). Both add every block in the same order, so results do not depend
// on the thread count.
//
// Shape legend: B = batch, T = sequence length, H = query heads, Hkv = key/value heads,
// G = H / Hkv, D = head size, Dp = D rounded up to 16, BQ/BK = query/key rows per tile.
#include "attention.h"
#include "attention_sparse.h"

namespace ulysses {

using namespace attn;

namespace {

struct BwdArgs {
  float* dq;          // [B,T,H,D]
  float* dk;          // [B,T,Hkv,D]
  float* dv;          // [B,T,Hkv,D]
  const float* dout;  // [B,T,H,D]
  const float* q;     // [B,T,H,D]
  const float* k;     // [B,T,Hkv,D]
  const float* v;     // [B,T,Hkv,D]
  const float* out;   // [B,T,H,D]
  const float* lse;   // [B,H,T]
  const float* dd;    // [B,H,T] rowsum(dout * out), computed once before the blocks
  float scale;
};

constexpr int64_t FK = 4;  // key tiles per key-block step: each packed query tile serves FK of them
constexpr int64_t FQ = 4;  // query tiles per dq-pass item: each packed key tile serves FQ of them

// One thread's tiles: FK key-tile slots and FQ query-tile slots.
struct BwdScratch {
  Buf kt;                     // [FK][D][BK] key tiles transposed, times log2(e)
  Buf vt;                     // [FK][D][BK] value tiles transposed
  Buf ks;                     // [FK][BK][Dp] key tiles times scale
  Buf dk, dv;                 // [FK][BK][Dp] gradient accumulators of the key tiles
  Buf qs;                     // [FQ][BQ][Dp] query tiles times scale
  Buf dO;                     // [FQ][BQ][Dp] output gradient tiles
  Buf dq;                     // [FQ][BQ][Dp] dq of the query tiles
  Buf p, ds;                  // [BQ][BK] probabilities and score gradients of one block
  std::vector<float> lse2;    // [FQ][BQ] row log-sum-exp, base 2
  std::vector<float> dd;      // [FQ][BQ] rowsum(dO * O)
  std::vector<int32_t> kdoc;  // [FK][BK] document ids of the key tiles
  int64_t nk[FK] = {}, nq[FQ] = {};  // real rows of the packed key and query tiles
  explicit BwdScratch(const Geometry& g)
      : kt(FK * g.D * BK), vt(FK * g.D * BK), ks(FK * BK * g.Dp), dk(FK * BK * g.Dp), dv(FK * BK * g.Dp),
        qs(FQ * BQ * g.Dp), dO(FQ * BQ * g.Dp), dq(FQ * BQ * g.Dp), p(BQ * BK), ds(BQ * BK), lse2(FQ * BQ),
        dd(FQ * BQ), kdoc(FK * BK) {}
};

// Views of one key slot and one query slot of the scratch.
struct KeySlot {
  const float *kt, *vt, *ks;  // [D][BK], [D][BK], [BK][Dp]
  float *dk, *dv;             // [BK][Dp]
  const int32_t* kdoc;        // [BK]
  int64_t nk;
};
struct QuerySlot {
  const float *qs, *dO, *lse2, *dd;  // [BQ][Dp], [BQ][Dp], [BQ], [BQ]
  float* dq;                         // [BQ][Dp]
  int64_t nq;
};

KeySlot key_slot(const Geometry& g, BwdScratch& s, int64_t f) {
  const int64_t t = f * g.D * BK, r = f * BK * g.Dp;
  return {s.kt.data() + t, s.vt.data() + t, s.ks.data() + r, s.dk.data() + r, s.dv.data() + r,
          s.kdoc.data() + f * BK, s.nk[f]};
}
QuerySlot query_slot(const Geometry& g, BwdScratch& s, int64_t e) {
  const int64_t r = e * BQ * g.Dp;
  return {s.qs.data() + r, s.dO.data() + r, s.lse2.data() + e * BQ, s.dd.data() + e * BQ, s.dq.data() + r, s.nq[e]};
}

// Packs key tile kt of kv head hk into key slot f.
void pack_key_tile(const Geometry& g, const BwdArgs& a, BwdScratch& s, int64_t f, int64_t b, int64_t hk,
                   int64_t kt) {
  const int64_t D = g.D, Dp = g.Dp, j0 = kt * BK;
  s.nk[f] = g.rows(kt);
  float *ktp = s.kt.data() + f * D * BK, *vt = s.vt.data() + f * D * BK, *ks = s.ks.data() + f * BK * Dp;
  for (int64_t j = 0; j < s.nk[f]; j++) {
    const float* kr = a.k + ((b * g.T + j0 + j) * g.Hkv + hk) * D;  // k row [D]
    const float* vr = a.v + ((b * g.T + j0 + j) * g.Hkv + hk) * D;  // v row [D]
    for (int64_t d = 0; d < D; d++) {
      ktp[d * BK + j] = kr[d] * LOG2E;
      vt[d * BK + j] = vr[d];
      ks[j * Dp + d] = kr[d] * a.scale;
    }
  }
  g.pack_kdoc(s.kdoc.data() + f * BK, b, kt);
}

// Packs query tile qt of head h into query slot e.
void pack_query_tile(const Geometry& g, const BwdArgs& a, BwdScratch& s, int64_t e, int64_t b, int64_t h,
                     int64_t qt) {
  const int64_t D = g.D, Dp = g.Dp, i0 = qt * BQ;
  s.nq[e] = g.rows(qt);
  float *qs = s.qs.data() + e * BQ * Dp, *dO = s.dO.data() + e * BQ * Dp;
  for (int64_t r = 0; r < s.nq[e]; r++) {
    const int64_t row = ((b * g.T + i0 + r) * g.H + h) * D;  // q, dout row [D]
    for (int64_t d = 0; d < D; d++) {
      qs[r * Dp + d] = a.q[row + d] * a.scale;
      dO[r * Dp + d] = a.dout[row + d];
    }
    s.dd[(size_t)(e * BQ + r)] = a.dd[(b * g.H + h) * g.T + i0 + r];
    s.lse2[(size_t)(e * BQ + r)] = a.lse[(b * g.H + h) * g.T + i0 + r] * LOG2E;
  }
}

// One (query tile, key tile) block starting at query i0 and key j0: P and dS, then the dV, dK
// (want_kv) and dQ (want_dq) updates.
void block(const Geometry& g, BwdScratch& s, const KeySlot& K, const QuerySlot& Q, int64_t b, int64_t i0,
           int64_t j0, Vis vis, bool want_kv, bool want_dq) {
  const int64_t D = g.D, Dp = g.Dp, nrow = (Q.nq + 3) / 4 * 4;
  float *p = s.p.data(), *ds = s.ds.data();
  for (int64_t r0 = 0; r0 < nrow; r0 += 4) {
    v16 sc[4][4];  // scores, then P, of 4 rows x 64 keys
    dot_rows<4>(sc, Q.qs + r0 * Dp, Dp, K.kt, D);
#pragma GCC unroll 4
    for (int64_t r = 0; r < 4; r++) {
      float* prow = p + (r0 + r) * BK;
      float l2 = Q.lse2[r0 + r];
      if (r0 + r >= Q.nq || l2 == -INFINITY) {  // padding, or a query that sees no key
        for (int v = 0; v < 4; v++) vstore(prow + 16 * v, v16{});
        continue;
      }
      if (vis == Vis::Partial) {
        for (int v = 0; v < 4; v++) sc[r][v] = g.mask(sc[r][v], b, i0 + r0 + r, j0 + 16 * v, K.kdoc + 16 * v);
      }
      for (int v = 0; v < 4; v++) vstore(prow + 16 * v, exp2v(sc[r][v] - l2));
    }
    v16 dp[4][4];  // dP = dO V^T of the same rows
    dot_rows<4>(dp, Q.dO + r0 * Dp, Dp, K.vt, D);
#pragma GCC unroll 4
    for (int64_t r = 0; r < 4; r++) {
      const float* prow = p + (r0 + r) * BK;
      float* dsrow = ds + (r0 + r) * BK;
      float dd = r0 + r < Q.nq ? Q.dd[r0 + r] : 0.0f;
      for (int v = 0; v < 4; v++) vstore(dsrow + 16 * v, vload(prow + 16 * v) * (dp[r][v] - dd));
    }
  }
  const int64_t krow = (K.nk + 3) / 4 * 4;
  if (want_kv) {
    accum(K.dv, Dp, krow, p, 1, BK, Q.nq, Q.dO, Dp, Dp);   // dV += P^T dO
    accum(K.dk, Dp, krow, ds, 1, BK, Q.nq, Q.qs, Dp, Dp);  // dK += dS^T (scale Q)
  }
  if (want_dq) accum(Q.dq, Dp, nrow, ds, BK, 1, K.nk, K.ks, Dp, Dp);  // dQ += dS (scale K)
}

// Copies the rows of query tile qt of head h between dq[B,T,H,D] and query slot e.
void dq_tile(const Geometry& g, const BwdArgs& a, BwdScratch& s, int64_t e, int64_t b, int64_t h, int64_t qt,
             bool load) {
  for (int64_t r = 0; r < g.rows(qt); r++) {
    float* row = a.dq + ((b * g.T + qt * BQ + r) * g.H + h) * g.D;
    float* tile = s.dq.data() + (e * BQ + r) * g.Dp;
    if (load) std::copy(row, row + g.D, tile);
    else std::copy(tile, tile + g.D, row);
  }
}

// dk and dv of key tiles kb*FK... of kv head hk, summing over its G query heads and all query
// tiles; with want_dq also adds the blocks' dq into dq (the caller owns those rows).
void key_block(const Geometry& g, const BwdArgs& a, BwdScratch& s, int64_t b, int64_t hk, int64_t kb, bool want_dq) {
  const int64_t D = g.D, Dp = g.Dp, kt0 = kb * FK, nf = std::min(FK, g.nT - kt0);
  for (int64_t f = 0; f < nf; f++) pack_key_tile(g, a, s, f, b, hk, kt0 + f);
  std::fill(s.dk.data(), s.dk.data() + FK * BK * Dp, 0.0f);
  std::fill(s.dv.data(), s.dv.data() + FK * BK * Dp, 0.0f);
  for (int64_t h = hk * g.G; h < (hk + 1) * g.G; h++) {
    const int64_t qtEnd = g.end_query_tile(std::min(g.T, (kt0 + nf) * BK));
    for (int64_t qt = g.first_query_tile(kt0 * BK); qt < qtEnd; qt++) {
      Vis vis[FK];
      bool any = false;
      for (int64_t f = 0; f < nf; f++) any |= (vis[f] = g.classify(b, qt, kt0 + f)) != Vis::Skip;
      if (!any) continue;
      pack_query_tile(g, a, s, 0, b, h, qt);
      if (want_dq) dq_tile(g, a, s, 0, b, h, qt, true);
      const QuerySlot Q = query_slot(g, s, 0);
      for (int64_t f = 0; f < nf; f++) {
        if (vis[f] != Vis::Skip) block(g, s, key_slot(g, s, f), Q, b, qt * BQ, (kt0 + f) * BK, vis[f], true, want_dq);
      }
      if (want_dq) dq_tile(g, a, s, 0, b, h, qt, false);
    }
  }
  for (int64_t f = 0; f < nf; f++) {
    for (int64_t j = 0; j < s.nk[f]; j++) {
      const int64_t row = ((b * g.T + (kt0 + f) * BK + j) * g.Hkv + hk) * D;  // dk, dv row [D]
      const float* dk = s.dk.data() + (f * BK + j) * Dp;
      const float* dv = s.dv.data() + (f * BK + j) * Dp;
      std::copy(dk, dk + D, a.dk + row);
      std::copy(dv, dv + D, a.dv + row);
    }
  }
}

// dq of query tiles qb*FQ... of head h, adding the key tiles in the same order as key_block does.
void query_block(const Geometry& g, const BwdArgs& a, BwdScratch& s, int64_t b, int64_t h, int64_t qb) {
  const int64_t qt0 = qb * FQ, ne = std::min(FQ, g.nT - qt0);
  for (int64_t e = 0; e < ne; e++) pack_query_tile(g, a, s, e, b, h, qt0 + e);
  std::fill(s.dq.data(), s.dq.data() + FQ * BQ * g.Dp, 0.0f);
  const int64_t ktEnd = g.end_key_tile((qt0 + ne - 1) * BQ + s.nq[ne - 1]);
  for (int64_t kt = g.first_key_tile(qt0 * BQ); kt < ktEnd; kt++) {
    Vis vis[FQ];
    bool any = false;
    for (int64_t e = 0; e < ne; e++) any |= (vis[e] = g.classify(b, qt0 + e, kt)) != Vis::Skip;
    if (!any) continue;
    pack_key_tile(g, a, s, 0, b, h / g.G, kt);
    const KeySlot K = key_slot(g, s, 0);
    for (int64_t e = 0; e < ne; e++) {
      if (vis[e] != Vis::Skip) block(g, s, K, query_slot(g, s, e), b, (qt0 + e) * BQ, kt * BK, vis[e], false, true);
    }
  }
  for (int64_t e = 0; e < ne; e++) dq_tile(g, a, s, e, b, h, qt0 + e, false);
}

void backward(const Geometry& g, BwdArgs a) {
  const int64_t B = g.B, T = g.T, H = g.H, Hkv = g.Hkv, D = g.D, groups = B * Hkv;
  const int want = num_threads();
  std::vector<float> dd((size_t)(B * H * T));  // [B,H,T]
  row_dots(dd.data(), a.dout, a.out, B, T, H, D);
  a.dd = dd.data();
  std::vector<BwdScratch> scratch;
  for (int t = 0; t < std::max(1, want); t++) scratch.emplace_back(g);
  if (groups >= want) {
    // A worker owns the whole (b, kv head) group: dk, dv and the dq rows of its G query heads.
    parallel_for(groups, threads_for(groups), [&](int64_t n, int tid) {
      const int64_t b = n / Hkv, hk = n % Hkv;
      for (int64_t i = 0; i < T; i++) {
        float* row = a.dq + ((b * T + i) * H + hk * g.G) * D;  // dq rows of the group's heads [G*D]
        std::fill(row, row + g.G * D, 0.0f);
      }
      for (int64_t kb = 0; kb * FK < g.nT; kb++) key_block(g, a, scratch[(size_t)tid], b, hk, kb, true);
    });
    return;
  }
  // Too few groups for the threads: key tiles own dk/dv, then query tiles own dq (costliest first).
  const int64_t kItems = groups * ((g.nT + FK - 1) / FK), qBlocks = (g.nT + FQ - 1) / FQ, qItems = B * H * qBlocks;
  parallel_for(kItems, threads_for(kItems), [&](int64_t n, int tid) {
    const int64_t kb = n / groups, grp = n % groups;
    key_block(g, a, scratch[(size_t)tid], grp / Hkv, grp % Hkv, kb, false);
  });
  parallel_for(qItems, threads_for(qItems), [&](int64_t n, int tid) {
    const int64_t qb = qBlocks - 1 - n / (B * H), bh = n % (B * H);
    query_block(g, a, scratch[(size_t)tid], bh / H, bh % H, qb);
  });
}

// attention_backward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, Hkv, D, causal, docIds | null, scale,
//                    [window, layout | null, blockSize, nBlocks, layoutHeads])
void AttentionBackward(const Napi::CallbackInfo& info) {
  int64_t B = int_arg(info, 9, "B"), T = int_arg(info, 10, "T"), H = int_arg(info, 11, "H");
  int64_t Hkv = int_arg(info, 12, "Hkv"), D = int_arg(info, 13, "D");
  bool causal = bool_arg(info, 14, "causal");
  if (Hkv < 1 || H % Hkv != 0) {
    throw Napi::RangeError::New(info.Env(), "attention_backward: H must be a multiple of Hkv (Hkv >= 1)");
  }
  size_t nq = (size_t)(B * T * H * D), nkv = (size_t)(B * T * Hkv * D);
  BwdArgs a{};
  a.dq = f32_arg(info, 0, "dq", nq);
  a.dk = f32_arg(info, 1, "dk", nkv);
  a.dv = f32_arg(info, 2, "dv", nkv);
  a.dout = f32_arg(info, 3, "dout", nq);
  a.q = f32_arg(info, 4, "q", nq);
  a.k = f32_arg(info, 5, "k", nkv);
  a.v = f32_arg(info, 6, "v", nkv);
  a.out = f32_arg(info, 7, "out", nq);
  a.lse = f32_arg(info, 8, "lse", (size_t)(B * H * T));
  const int32_t* doc = i32_opt(info, 15, "docIds", (size_t)(B * T), true);
  a.scale = (float)num_arg(info, 16, "scale");
  const MaskExtra extra = mask_extra_args(info, 17, T, H, "attention_backward");
  if (B * T * H == 0) {  // no queries: the gradients are zero
    std::fill(a.dk, a.dk + nkv, 0.0f);
    std::fill(a.dv, a.dv + nkv, 0.0f);
    return;
  }
  if (extra.layout) {
    sparse_attention_backward(SparseGeometry(B, T, H, Hkv, D, causal, doc, extra), a.dq, a.dk, a.dv, a.dout, a.q,
                              a.k, a.v, a.out, a.lse, a.scale);
    return;
  }
  backward(Geometry(B, T, H, Hkv, D, causal, doc, extra.window), a);
}

}  // namespace

void register_attention_backward(Napi::Env env, Napi::Object exports) {
  exports.Set("attention_backward", Napi::Function::New(env, AttentionBackward));
}

}  // namespace ulysses
