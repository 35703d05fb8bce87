// Dense reference attention: for every (b, h, query) row it materialises the scores against
// all keys, takes a softmax and the weighted sum of values. O(T) scratch per row, O(T^2) time;
// the readable definition the fused native kernels are tested against, for every mask the
// contract has (causal, documents, sliding window, block-sparse layout), however sparse.
//
// Shape legend: B = batch, T = sequence length, H = query heads, Hkv = key/value heads
// (H % Hkv == 0, query head h reads kv head floor(h / (H / Hkv))), D = head size.
// Scratch is float64 so the reference is more accurate than the kernels compared with it.
import type { AttentionMaskSpec, AttentionShape, Kernels } from '../kernels.js';

/** Throws when the shape, buffers or mask do not fit the contract. */
function checkShape(s: AttentionShape, m: AttentionMaskSpec, name: string): void {
  const { B, T, H, Hkv } = s;
  for (const [k, v] of Object.entries(s)) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name}: ${k} must be a non-negative integer, got ${v}`);
  }
  if (Hkv < 1 || H % Hkv !== 0) throw new RangeError(`${name}: H (${H}) must be a multiple of Hkv (${Hkv})`);
  if (m.docIds && m.docIds.length < B * T) throw new RangeError(`${name}: docIds needs ${B * T} elements`);
  const w = m.window ?? 0;
  if (!Number.isInteger(w) || w < 0) throw new RangeError(`${name}: window must be a non-negative integer, got ${w}`);
  const l = m.blockLayout;
  if (!l) return;
  if (!Number.isInteger(l.blockSize) || l.blockSize < 1) {
    throw new RangeError(`${name}: blockLayout.blockSize must be a positive integer, got ${l.blockSize}`);
  }
  const nb = Math.ceil(T / l.blockSize);
  if (l.nBlocks !== nb) throw new RangeError(`${name}: blockLayout.nBlocks is ${l.nBlocks}, T = ${T} needs ${nb}`);
  if (l.heads !== 1 && l.heads !== H) throw new RangeError(`${name}: blockLayout.heads must be 1 or H = ${H}`);
  if (l.mask.length < l.heads * nb * nb) {
    throw new RangeError(`${name}: blockLayout.mask needs ${l.heads * nb * nb} elements, has ${l.mask.length}`);
  }
}

/** Query i sees key j (both in batch row b) from query head h. */
function visible(m: AttentionMaskSpec, T: number, b: number, h: number, i: number, j: number): boolean {
  if (m.causal && j > i) return false;
  if (m.docIds && m.docIds[b * T + i] !== m.docIds[b * T + j]) return false;
  const w = m.window ?? 0;
  if (w > 0 && (i - j >= w || j - i >= w)) return false;
  const l = m.blockLayout;
  if (l) {
    const bs = l.blockSize;
    const at = ((l.heads === 1 ? 0 : h) * l.nBlocks + Math.floor(i / bs)) * l.nBlocks + Math.floor(j / bs);
    if (l.mask[at] === 0) return false;
  }
  return true;
}

/**
 * Scaled scores of query row (b, i, h) against every key into s[T] (-Infinity where masked);
 * returns the row's log-sum-exp (-Infinity when no key is visible).
 */
function scoreRow(
  s: Float64Array, q: Float32Array, k: Float32Array, shape: AttentionShape, m: AttentionMaskSpec, scale: number,
  b: number, i: number, h: number,
): number {
  const { T, H, Hkv, D } = shape;
  const hk = Math.floor(h / (H / Hkv));
  const qo = ((b * T + i) * H + h) * D; // q row [D]
  let max = -Infinity;
  for (let j = 0; j < T; j++) {
    if (!visible(m, T, b, h, i, j)) {
      s[j] = -Infinity;
      continue;
    }
    const ko = ((b * T + j) * Hkv + hk) * D; // k row [D]
    let dot = 0;
    for (let d = 0; d < D; d++) dot += (q[qo + d] as number) * (k[ko + d] as number);
    const v = dot * scale;
    s[j] = v;
    if (v > max) max = v;
  }
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let j = 0; j < T; j++) sum += Math.exp((s[j] as number) - max);
  return max + Math.log(sum);
}

export const attention_forward: Kernels['attention_forward'] = (out, lse, q, k, v, shape, mask, scale) => {
  checkShape(shape, mask, 'attention_forward');
  const { B, T, H, Hkv, D } = shape;
  const s = new Float64Array(T); // scores of one query row [T]
  const acc = new Float64Array(D); // weighted sum of one row [D]
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hkv));
      for (let i = 0; i < T; i++) {
        const l = scoreRow(s, q, k, shape, mask, scale, b, i, h);
        lse[(b * H + h) * T + i] = l;
        acc.fill(0);
        if (l !== -Infinity) {
          for (let j = 0; j < T; j++) {
            const p = Math.exp((s[j] as number) - l);
            if (p === 0) continue;
            const vo = ((b * T + j) * Hkv + hk) * D; // v row [D]
            for (let d = 0; d < D; d++) acc[d] = (acc[d] as number) + p * (v[vo + d] as number);
          }
        }
        const oo = ((b * T + i) * H + h) * D; // out row [D]
        for (let d = 0; d < D; d++) out[oo + d] = acc[d] as number;
      }
    }
  }
};

/**
 * Standard softmax backward per row, with P recomputed from q and k (not from the saved lse, so
 * the reference does not depend on the forward it checks): dP_j = dout_i . v_j,
 * dS_j = P_j (dP_j - sum_k P_k dP_k), dq_i = scale sum_j dS_j k_j, dk_j += scale dS_j q_i, dv_j += P_j dout_i.
 */
export const attention_backward: Kernels['attention_backward'] = (
  dq, dk, dv, dout, q, k, v, _out, _lse, shape, mask, scale,
) => {
  checkShape(shape, mask, 'attention_backward');
  const { B, T, H, Hkv, D } = shape;
  const s = new Float64Array(T); // scores, then P, of one query row [T]
  const dp = new Float64Array(T); // dP of one query row [T]
  const dqAcc = new Float64Array(D); // [D]
  const dkAcc = new Float64Array(B * T * Hkv * D); // [B,T,Hkv,D]
  const dvAcc = new Float64Array(B * T * Hkv * D); // [B,T,Hkv,D]
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hkv));
      for (let i = 0; i < T; i++) {
        const l = scoreRow(s, q, k, shape, mask, scale, b, i, h);
        const qo = ((b * T + i) * H + h) * D; // q, dq, dout row [D]
        dqAcc.fill(0);
        if (l !== -Infinity) {
          let dot = 0; // sum_j P_j dP_j
          for (let j = 0; j < T; j++) {
            const p = Math.exp((s[j] as number) - l);
            s[j] = p;
            if (p === 0) {
              dp[j] = 0;
              continue;
            }
            const vo = ((b * T + j) * Hkv + hk) * D;
            let g = 0;
            for (let d = 0; d < D; d++) g += (dout[qo + d] as number) * (v[vo + d] as number);
            dp[j] = g;
            dot += p * g;
          }
          for (let j = 0; j < T; j++) {
            const p = s[j] as number;
            if (p === 0) continue;
            const ds = p * ((dp[j] as number) - dot) * scale;
            const ko = ((b * T + j) * Hkv + hk) * D;
            for (let d = 0; d < D; d++) {
              dqAcc[d] = (dqAcc[d] as number) + ds * (k[ko + d] as number);
              dkAcc[ko + d] = (dkAcc[ko + d] as number) + ds * (q[qo + d] as number);
              dvAcc[ko + d] = (dvAcc[ko + d] as number) + p * (dout[qo + d] as number);
            }
          }
        }
        for (let d = 0; d < D; d++) dq[qo + d] = dqAcc[d] as number;
      }
    }
  }
  for (let n = 0; n < B * T * Hkv * D; n++) {
    dk[n] = dkAcc[n] as number;
    dv[n] = dvAcc[n] as number;
  }
};
