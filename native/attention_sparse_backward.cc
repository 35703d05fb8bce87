// Block-sparse attention backward (fp32). Keys are the rows and queries the 16-wide lanes here:
// one layout block of keys is packed once, and the query blocks that see it (from any of the kv
// head's G query heads) are gathered into tiles of 64 lanes. Per tile it recomputes
// P^T = exp2(s2 - lse2), dP^T = V dO^T and dS^T = P^T * (dP^T - Dd), then dV += P^T dO,
// dK += dS^T Q and a tile-local dQ = dS K that is added into dq. Overwrites dq, dk, dv.
//
// Race-free and deterministic: a worker owns a whole (b, kv head) group when there are enough
// groups; otherwise one pass owns key blocks (dk, dv) and a second owns query blocks (dq). Each
// query row receives the same per-key-block sums in the same order either way. The query side
// is read from per-head panels packed once ([D][T] transposed and [T][Dp] rows), so a tile that
// is one run of 64 queries is used in place and any other tile is gathered by plain copies.
//
// Shape legend: B, T, H, Hkv, G, D, Dp as in attention.h; bs = tokens per layout block,
// nb = blocks per sequence, R = bs rounded up to 4 rows, ldp = panel row stride.
#include "attention_sparse.h"

namespace ulysses {
namespace attn {

namespace {

struct SpBwdArgs {
  float *dq, *dk, *dv;  // [B,T,H,D], [B,T,Hkv,D], [B,T,Hkv,D]
  const float *dout, *q, *k, *v;  // [B,T,H,D], [B,T,H,D], [B,T,Hkv,D], [B,T,Hkv,D]
  const float* lse2;  // [B,H,T] row log-sum-exp in base 2, +inf for a row that saw nothing (its P is 0)
  const float* dd;    // [B,H,T] rowsum(dout * out)
  float scale;
};

// The query side of heads bh = b * H + h in [first, first + heads), packed once per call or group.
struct Panels {
  std::unique_ptr<float[]> qt, ot;  // [heads][D][ldp] queries times scale, output gradients, transposed
  std::unique_ptr<float[]> qr, orw;  // [heads][T][Dp] the same as rows
  std::unique_ptr<float[]> dqr;      // [heads][T][Dp] dq accumulators (owner mode only)
  int64_t first = 0;
  Panels(const SparseGeometry& g, int64_t heads, bool with_dq)
      : qt(floats(heads * g.D * g.ldp)), ot(floats(heads * g.D * g.ldp)), qr(floats(heads * g.T * g.Dp)),
        orw(floats(heads * g.T * g.Dp)), dqr(with_dq ? floats(heads * g.T * g.Dp) : nullptr) {}
  float* tcol(float* base, const SparseGeometry& g, int64_t bh) const { return base + (bh - first) * g.D * g.ldp; }
  float* rows(float* base, const SparseGeometry& g, int64_t bh, int64_t pos) const {
    return base + ((bh - first) * g.T + pos) * g.Dp;
  }
};

// Packs heads [first, first + n) into P over nt threads.
void pack_heads(const SparseGeometry& g, const SpBwdArgs& a, Panels& P, int64_t first, int64_t n, int nt) {
  P.first = first;
  const int64_t chunks = (g.T + 511) / 512;  // positions per work item: 512
  parallel_for(n * chunks, nt, [&](int64_t i, int) {
    const int64_t bh = first + i / chunks, b = bh / g.H, h = bh % g.H, t0 = i % chunks * 512;
    const int64_t t1 = std::min(g.T, t0 + 512);
    pack_panel(P.tcol(P.qt.get(), g, bh), a.q, b, h, t0, t1, g.T, g.H, g.D, g.ldp, a.scale);
    pack_panel(P.tcol(P.ot.get(), g, bh), a.dout, b, h, t0, t1, g.T, g.H, g.D, g.ldp, 1.0f);
    pack_rows(P.rows(P.qr.get(), g, bh, 0), a.q, b, h, t0, t1, g.T, g.H, g.D, g.Dp, a.scale);
    pack_rows(P.rows(P.orw.get(), g, bh, 0), a.dout, b, h, t0, t1, g.T, g.H, g.D, g.Dp, 1.0f);
  });
}

// A tile of up to BK query rows (lanes): views into the panels, or into its own gathered copies.
struct Lanes {
  Buf qt, dot;                  // [D][BK] gathered queries times scale, output gradients, transposed
  Buf qs, dO;                   // [BK][Dp] the same as rows
  Buf dq;                       // [BK][Dp] dq of the lanes from one key block
  std::vector<float> lse2, dd;  // [BK] gathered lse2 and Dd
  std::vector<int32_t> pos, doc;  // [BK] query position (-1 = padding) and document, for the mask
  const float *vqs, *vdO, *vlse2, *vdd;  // what the block reads: [BK][Dp] x2, [BK] x2 (copies or in place)
  int64_t n = 0;
  explicit Lanes(const SparseGeometry& g)
      : qt(g.D * BK), dot(g.D * BK), qs(BK * g.Dp), dO(BK * g.Dp), dq(BK * g.Dp), lse2(BK), dd(BK), pos(BK), doc(BK) {}
};

// Points L at the n query rows of the pieces: the transposed sides are gathered, the rest is read
// in place when one piece fills the tile.
void fill_lanes(const SparseGeometry& g, const SpBwdArgs& a, const Panels& P, Lanes& L, int64_t b, const Piece* pieces,
                int64_t count, int64_t n, bool need_pos) {
  const int64_t D = g.D, Dp = g.Dp;
  L.n = n;
  for (int64_t e = 0; e < count; e++) {  // transposed sides are always copied: read in place they thrash the TLB
    const Piece& c = pieces[e];
    const int64_t bh = b * g.H + c.head;
    gather_panel(L.qt.data(), c.lane, P.tcol(P.qt.get(), g, bh), g.ldp, c.pos, c.n, D);
    gather_panel(L.dot.data(), c.lane, P.tcol(P.ot.get(), g, bh), g.ldp, c.pos, c.n, D);
  }
  if (count == 1 && n == BK) {  // one run fills the tile: rows, lse2 and Dd are read in place
    const int64_t bh = b * g.H + pieces[0].head, pos = pieces[0].pos;
    L.vqs = P.rows(P.qr.get(), g, bh, pos);
    L.vdO = P.rows(P.orw.get(), g, bh, pos);
    L.vlse2 = a.lse2 + bh * g.T + pos;
    L.vdd = a.dd + bh * g.T + pos;
  } else {
    for (int64_t e = 0; e < count; e++) {
      const Piece& c = pieces[e];
      const int64_t bh = b * g.H + c.head;
      copy_floats(L.qs.data() + c.lane * Dp, P.rows(P.qr.get(), g, bh, c.pos), c.n * Dp);
      copy_floats(L.dO.data() + c.lane * Dp, P.rows(P.orw.get(), g, bh, c.pos), c.n * Dp);
      copy_floats(L.lse2.data() + c.lane, a.lse2 + bh * g.T + c.pos, c.n);
      copy_floats(L.dd.data() + c.lane, a.dd + bh * g.T + c.pos, c.n);
    }
    std::fill(L.lse2.begin() + n, L.lse2.end(), INFINITY);  // padding lanes: no probability
    std::fill(L.dd.begin() + n, L.dd.end(), 0.0f);
    L.vqs = L.qs.data(), L.vdO = L.dO.data(), L.vlse2 = L.lse2.data(), L.vdd = L.dd.data();
  }
  if (!need_pos) return;
  for (int64_t e = 0; e < count; e++) {
    for (int64_t t = 0; t < pieces[e].n; t++) {
      const int64_t i = pieces[e].pos + t, c = pieces[e].lane + t;
      L.pos[(size_t)c] = (int32_t)i;
      L.doc[(size_t)c] = g.doc ? g.doc[b * g.T + i] : 0;
    }
  }
  for (int64_t c = n; c < BK; c++) L.pos[(size_t)c] = -1;
}

// One layout block of key rows of one kv head, with its gradient accumulators.
struct Keys {
  Buf kl, vr, ks;  // [R][Dp] keys times log2(e), values, keys times scale
  Buf dk, dv;      // [R][Dp]
  int64_t j0 = 0, n = 0;
  Keys(const SparseGeometry& g, int64_t R) : kl(R * g.Dp), vr(R * g.Dp), ks(R * g.Dp), dk(R * g.Dp), dv(R * g.Dp) {}
};

// Packs key block kb of kv head hk and zeroes its accumulators; padded rows are zero, so finite.
void pack_keys(const SparseGeometry& g, const SpBwdArgs& a, Keys& K, int64_t b, int64_t hk, int64_t kb) {
  const int64_t D = g.D, Dp = g.Dp;
  K.j0 = kb * g.bs;
  K.n = g.len(kb);
  float *kl = K.kl.data(), *vr = K.vr.data(), *ks = K.ks.data();
  for (int64_t j = 0; j < K.n; j++) {
    const int64_t row = ((b * g.T + K.j0 + j) * g.Hkv + hk) * D;  // k, v row [D]
    copy_scaled(kl + j * Dp, a.k + row, D, LOG2E);
    copy_floats(vr + j * Dp, a.v + row, D);
    copy_scaled(ks + j * Dp, a.k + row, D, a.scale);
  }
  const int64_t krow = (K.n + 3) / 4 * 4;
  for (float* x : {kl, vr}) std::fill(x + K.n * Dp, x + krow * Dp, 0.0f);
  std::fill(K.dk.data(), K.dk.data() + krow * Dp, 0.0f);
  std::fill(K.dv.data(), K.dv.data() + krow * Dp, 0.0f);
}

// One thread's tiles: a key block, lane tiles enough for one query block, P and dS.
struct SpBwdScratch {
  Keys K;
  std::vector<Lanes> L;  // [ceil(bs / BK)]
  Buf qacc;              // [ceil(bs / BK) * BK][Dp] dq of one query block (query pass)
  Buf p, ds;             // [R][BK] P^T and dS^T of one tile
  std::vector<Run> runs;
  SpBwdScratch(const SparseGeometry& g, int64_t R, int64_t nl) : K(g, R), qacc(nl * BK * g.Dp), p(R * BK), ds(R * BK) {
    for (int64_t t = 0; t < nl; t++) L.emplace_back(g);
  }
};

// One (key block, lane tile) pair: P^T and dS^T, then dV, dK (want_kv) and the tile's dQ (want_dq).
void block(const SparseGeometry& g, SpBwdScratch& s, Keys& K, Lanes& L, int64_t b, bool masked, bool want_kv,
           bool want_dq) {
  const int64_t D = g.D, Dp = g.Dp, krow = (K.n + 3) / 4 * 4, lrow = (L.n + 3) / 4 * 4;
  float *p = s.p.data(), *ds = s.ds.data();
  for (int64_t r0 = 0; r0 < krow; r0 += 4) {
    v16 sc[4][4];  // scores of 4 keys x 64 query lanes
    dot_rows<4>(sc, K.kl.data() + r0 * Dp, Dp, L.qt.data(), D);
    v16 dp[4][4];  // dP^T = V dO^T of the same keys
    dot_rows<4>(dp, K.vr.data() + r0 * Dp, Dp, L.dot.data(), D);
#pragma GCC unroll 4
    for (int64_t r = 0; r < 4; r++) {
      float* prow = p + (r0 + r) * BK;
      float* dsrow = ds + (r0 + r) * BK;
      for (int v = 0; v < 4; v++) {
        v16 x = sc[r][v];
        if (masked) x = g.query_mask(x, b, K.j0 + r0 + r, L.pos.data() + 16 * v, L.doc.data() + 16 * v);
        v16 pv = exp2v(x - vload(L.vlse2 + 16 * v));
        vstore(prow + 16 * v, pv);
        vstore(dsrow + 16 * v, pv * (dp[r][v] - vload(L.vdd + 16 * v)));
      }
    }
  }
  if (want_kv) {
    accum(K.dv.data(), Dp, krow, p, BK, 1, L.n, L.vdO, Dp, Dp);   // dV += P^T dO
    accum(K.dk.data(), Dp, krow, ds, BK, 1, L.n, L.vqs, Dp, Dp);  // dK += dS^T (scale Q)
  }
  if (want_dq) {
    std::fill(L.dq.data(), L.dq.data() + lrow * Dp, 0.0f);
    accum(L.dq.data(), Dp, lrow, ds, 1, BK, K.n, K.ks.data(), Dp, Dp);  // dQ = dS (scale K)
  }
}

// dk and dv of key block kb of kv head hk over every query row that sees it; in owner mode
// (P.dqr set) also adds those rows' dq into the group's accumulators.
void key_item(const SparseGeometry& g, const SpBwdArgs& a, const Panels& P, SpBwdScratch& s, int64_t b, int64_t hk,
              int64_t kb) {
  const int64_t D = g.D, Dp = g.Dp;
  Keys& K = s.K;
  pack_keys(g, a, K, b, hk, kb);
  s.runs.clear();
  for (int64_t h = hk * g.G; h < (hk + 1) * g.G; h++) {
    for (int64_t qb = g.first_query_block(kb); qb < g.end_query_block(kb); qb++) {
      Vis vis = g.classify(b, h, qb, kb);
      if (vis != Vis::Skip) push_run(s.runs, {qb * g.bs, g.len(qb), h, vis == Vis::Partial});
    }
  }
  Lanes& L = s.L[0];
  const bool want_dq = P.dqr != nullptr;
  for_each_tile(s.runs, [&](const Piece* pieces, int64_t count, int64_t n, bool masked) {
    fill_lanes(g, a, P, L, b, pieces, count, n, masked);
    block(g, s, K, L, b, masked, true, want_dq);
    for (int64_t e = 0; want_dq && e < count; e++) {
      const Piece& c = pieces[e];
      add_floats(P.rows(P.dqr.get(), g, b * g.H + c.head, c.pos), L.dq.data() + c.lane * Dp, c.n * Dp);
    }
  });
  for (int64_t j = 0; j < K.n; j++) {
    const int64_t row = ((b * g.T + K.j0 + j) * g.Hkv + hk) * D;  // dk, dv row [D]
    copy_floats(a.dk + row, K.dk.data() + j * Dp, D);
    copy_floats(a.dv + row, K.dv.data() + j * Dp, D);
  }
}

// dq of query block qb of head h, adding the key blocks in the same order as key_item does.
void query_item(const SparseGeometry& g, const SpBwdArgs& a, const Panels& P, SpBwdScratch& s, int64_t b, int64_t h,
                int64_t qb) {
  const int64_t D = g.D, Dp = g.Dp, nq = g.len(qb), nl = (nq + BK - 1) / BK;
  for (int64_t t = 0; t < nl; t++) {
    const Piece piece{qb * g.bs + t * BK, std::min(BK, nq - t * BK), 0, h};
    fill_lanes(g, a, P, s.L[(size_t)t], b, &piece, 1, piece.n, true);
  }
  float* acc = s.qacc.data();
  std::fill(acc, acc + nl * BK * Dp, 0.0f);
  for (int64_t kb = g.first_key_block(qb); kb < g.end_key_block(qb); kb++) {
    Vis vis = g.classify(b, h, qb, kb);
    if (vis == Vis::Skip) continue;
    pack_keys(g, a, s.K, b, h / g.G, kb);
    for (int64_t t = 0; t < nl; t++) {
      Lanes& L = s.L[(size_t)t];
      block(g, s, s.K, L, b, vis == Vis::Partial, false, true);
      add_floats(acc + t * BK * Dp, L.dq.data(), L.n * Dp);
    }
  }
  for (int64_t r = 0; r < nq; r++) copy_floats(a.dq + ((b * g.T + qb * g.bs + r) * g.H + h) * D, acc + r * Dp, D);
}

}  // namespace

void sparse_attention_backward(const SparseGeometry& g, float* dq, float* dk, float* dv, const float* dout,
                               const float* q, const float* k, const float* v, const float* out, const float* lse,
                               float scale) {
  const int64_t B = g.B, T = g.T, H = g.H, Hkv = g.Hkv, D = g.D, groups = B * Hkv;
  std::vector<float> dd((size_t)(B * H * T)), lse2((size_t)(B * H * T));  // [B,H,T] each
  row_dots(dd.data(), dout, out, B, T, H, D);
  for (size_t i = 0; i < lse2.size(); i++) lse2[i] = lse[i] == -INFINITY ? INFINITY : lse[i] * LOG2E;
  const SpBwdArgs a{dq, dk, dv, dout, q, k, v, lse2.data(), dd.data(), scale};
  const int want = num_threads();
  const int64_t R = (g.bs + 3) / 4 * 4, nl = (g.bs + BK - 1) / BK;
  std::vector<SpBwdScratch> scratch;
  for (int t = 0; t < std::max(1, want); t++) scratch.emplace_back(g, R, nl);
  if (groups >= want) {
    // A worker owns the whole (b, kv head) group: dk, dv and the dq rows of its G query heads; it
    // packs only that group's heads (O(G * T * D) memory per worker).
    std::vector<Panels> panels;
    for (int t = 0; t < threads_for(groups); t++) panels.emplace_back(g, g.G, true);
    parallel_for(groups, threads_for(groups), [&](int64_t n, int tid) {
      const int64_t b = n / Hkv, hk = n % Hkv, first = b * H + hk * g.G;
      Panels& P = panels[(size_t)tid];
      pack_heads(g, a, P, first, g.G, 1);
      std::fill(P.dqr.get(), P.dqr.get() + g.G * T * g.Dp, 0.0f);
      for (int64_t kb = 0; kb < g.nb; kb++) key_item(g, a, P, scratch[(size_t)tid], b, hk, kb);
      for (int64_t h = 0; h < g.G; h++) {
        for (int64_t i = 0; i < T; i++) {
          copy_floats(dq + ((b * T + i) * H + hk * g.G + h) * D, P.rows(P.dqr.get(), g, first + h, i), D);
        }
      }
    });
    return;
  }
  // Too few groups for the threads (so few heads in all): every head is packed up front, then key
  // blocks own dk/dv and query blocks own dq (costliest first).
  Panels P(g, B * H, false);
  pack_heads(g, a, P, 0, B * H, threads_for(B * H * ((T + 511) / 512)));
  const int64_t kItems = groups * g.nb, qItems = B * H * g.nb;
  parallel_for(kItems, threads_for(kItems), [&](int64_t n, int tid) {
    const int64_t kb = n / groups, grp = n % groups;
    key_item(g, a, P, scratch[(size_t)tid], grp / Hkv, grp % Hkv, kb);
  });
  parallel_for(qItems, threads_for(qItems), [&](int64_t n, int tid) {
    const int64_t qb = g.nb - 1 - n / (B * H), bh = n % (B * H);
    query_item(g, a, P, scratch[(size_t)tid], bh / H, bh % H, qb);
  });
}

}  // namespace attn
}  // namespace ulysses
