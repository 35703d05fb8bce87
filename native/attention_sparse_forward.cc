// Block-sparse attention forward (fp32): one work item is one query block of one head. It gathers
// the key blocks the layout (with the causal, window and document conditions) lets it see into
// tiles of 64 key lanes and runs the same online softmax as the dense forward over them, so the
// cost is proportional to the visible blocks; empty blocks are never touched.
//
// Shape legend: B, T, H, Hkv, G, D, Dp as in attention.h; bs = tokens per layout block,
// nb = blocks per sequence, R = bs rounded up to RG rows, ldp = panel row stride.
#include "attention_sparse.h"

namespace ulysses {
namespace attn {

namespace {

// One thread's tiles.
struct SpFwdScratch {
  Buf qs;                           // [R][Dp] query rows of the block times scale
  Buf o;                            // [R][Dp] unnormalised output rows
  Buf kt;                           // [D][BK] gathered keys transposed, times log2(e)
  Buf vp;                           // [BK][Dp] gathered values
  Buf p;                            // [RG][BK] probabilities of one row group
  std::vector<float> m, l;          // [R] running max (base 2) and sum
  std::vector<int32_t> kpos, kdoc;  // [BK] position (-1 = padding) and document of each key lane
  std::vector<Run> runs;            // the visible key blocks of the item
  SpFwdScratch(const SparseGeometry& g, int64_t R)
      : qs(R * g.Dp), o(R * g.Dp), kt(g.D * BK), vp(BK * g.Dp), p(RG * BK), m((size_t)R), l((size_t)R),
        kpos(BK), kdoc(BK) {}
};

struct SpFwdArgs {
  float* out;          // [B,T,H,D]
  float* lse;          // [B,H,T]
  const float* q;      // [B,T,H,D]
  const float* kt;     // [D][ldp] keys of the current (b, kv head) transposed, times log2(e)
  const float* vrows;  // [T][Dp] values of the current (b, kv head)
  float scale;
};

// out and lse of query block qb of head h in batch row b (the kv head's panels are packed).
void forward_item(const SparseGeometry& g, const SpFwdArgs& a, SpFwdScratch& s, int64_t b, int64_t h, int64_t qb) {
  const int64_t T = g.T, H = g.H, D = g.D, Dp = g.Dp;
  const int64_t i0 = qb * g.bs, nq = g.len(qb), nrow = (nq + RG - 1) / RG * RG;
  float *qs = s.qs.data(), *o = s.o.data();
  for (int64_t r = 0; r < nq; r++) copy_scaled(qs + r * Dp, a.q + ((b * T + i0 + r) * H + h) * D, D, a.scale);
  std::fill(o, o + nrow * Dp, 0.0f);
  std::fill(s.m.begin(), s.m.end(), -INFINITY);
  std::fill(s.l.begin(), s.l.end(), 0.0f);
  s.runs.clear();
  for (int64_t kb = g.first_key_block(qb); kb < g.end_key_block(qb); kb++) {
    Vis vis = g.classify(b, h, qb, kb);
    if (vis != Vis::Skip) push_run(s.runs, {kb * g.bs, g.len(kb), h, vis == Vis::Partial});
  }
  for_each_tile(s.runs, [&](const Piece* pieces, int64_t count, int64_t n, bool masked) {
    // Keys are always copied (read in place at stride ldp they thrash the TLB); a run of 64 values is read in place.
    KeyTile K{s.kt.data(), BK, count == 1 && n == BK ? a.vrows + pieces[0].pos * Dp : s.vp.data()};
    for (int64_t e = 0; e < count; e++) {
      const Piece& c = pieces[e];
      gather_panel(s.kt.data(), c.lane, a.kt, g.ldp, c.pos, c.n, D);
      if (K.vp == s.vp.data()) copy_floats(s.vp.data() + c.lane * Dp, a.vrows + c.pos * Dp, c.n * Dp);
    }
    masked |= n < BK;
    if (masked) {
      for (int64_t e = 0; e < count; e++) {
        for (int64_t j = 0; j < pieces[e].n; j++) {
          const int64_t pos = pieces[e].pos + j, lane = pieces[e].lane + j;
          s.kpos[(size_t)lane] = (int32_t)pos;
          if (g.doc) s.kdoc[(size_t)lane] = g.doc[b * T + pos];
        }
      }
      for (int64_t j = n; j < BK; j++) s.kpos[(size_t)j] = -1;  // padding lanes are masked out
    }
    const int32_t *kpos = s.kpos.data(), *kdoc = s.kdoc.data();
    for (int64_t r0 = 0; r0 < nrow; r0 += RG) {
      softmax_rows(o, s.m.data(), s.l.data(), s.p.data(), qs, K, D, Dp, n, r0, masked,
                   [&](v16 x, int64_t r, int v) { return g.key_mask(x, b, i0 + r, kpos + 16 * v, kdoc + 16 * v); });
    }
  });
  for (int64_t r = 0; r < nq; r++) {
    float* dst = a.out + ((b * T + i0 + r) * H + h) * D;  // out row [D]
    float l = s.l[(size_t)r];
    float* lse = a.lse + (b * H + h) * T + i0 + r;
    if (l == 0.0f) {  // a query that sees no key
      std::fill(dst, dst + D, 0.0f);
      *lse = -INFINITY;
      continue;
    }
    copy_scaled(dst, o + r * Dp, D, 1.0f / l);
    *lse = (float)((double)s.m[(size_t)r] * LN2 + std::log((double)l));
  }
}

}  // namespace

void sparse_attention_forward(const SparseGeometry& g, float* out, float* lse, const float* q, const float* k,
                              const float* v, float scale) {
  auto kt = floats(g.D * g.ldp);   // [D][ldp] keys of one (b, kv head) transposed, times log2(e)
  auto vrows = floats(g.T * g.Dp);  // [T][Dp] values of one (b, kv head)
  const SpFwdArgs a{out, lse, q, kt.get(), vrows.get(), scale};
  const int64_t items = g.G * g.nb;  // per group: G query heads x nb query blocks
  const int nt = threads_for(items);
  std::vector<SpFwdScratch> scratch;
  for (int t = 0; t < nt; t++) scratch.emplace_back(g, (g.bs + RG - 1) / RG * RG);
  // One (b, kv head) group at a time, so its panels take O(T * D) memory, not O(B * Hkv * T * D).
  for (int64_t grp = 0; grp < g.B * g.Hkv; grp++) {
    const int64_t b = grp / g.Hkv, hk = grp % g.Hkv, chunks = (g.T + 511) / 512;
    parallel_for(chunks, threads_for(chunks), [&](int64_t c, int) {
      const int64_t t0 = c * 512, t1 = std::min(g.T, t0 + 512);
      pack_panel(kt.get(), k, b, hk, t0, t1, g.T, g.Hkv, g.D, g.ldp, LOG2E);
      pack_rows(vrows.get(), v, b, hk, t0, t1, g.T, g.Hkv, g.D, g.Dp, 1.0f);
    });
    // Late query blocks see the most keys under a causal mask: they go first for balance.
    parallel_for(items, nt, [&](int64_t n, int tid) {
      forward_item(g, a, scratch[(size_t)tid], b, hk * g.G + n % g.G, g.nb - 1 - n / g.G);
    });
  }
}

}  // namespace attn
}  // namespace ulysses
