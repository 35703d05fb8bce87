// The backward of attention of one query block over one key block, given the output and the
// log-sum-exp of the query rows over ALL key blocks: with P = exp(s − lse) (global probabilities)
// and Dd = rowsum(dout · out) (global output), dV = Pᵀ dout, dS = P (dout Vᵀ − Dd), dQ = scale dS K,
// dK = scale dSᵀ Q are the exact shares of this key block in the full gradient. The native kernel
// computes exactly this from the lse and out it is given; the reference kernel recomputes P from
// the block's own scores (a softmax over this block only), so for it the sum runs here.
//
// Shape legend: B = batch, c = tokens per block (queries and keys alike), H = query heads,
// Hkv = kv heads (query head h reads kv head floor(h / (H/Hkv))), D = head size.
import type { AttentionShape, Kernels } from '../../kernels/kernels.js';

/** Overwrites dq[B,c,H,D], dk[B,c,Hkv,D], dv[B,c,Hkv,D]; causal masks key j > query i within the block. */
export function blockAttentionBackward(
  kernels: Kernels, dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array,
  q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
  shape: AttentionShape, causal: boolean, scale: number,
): void {
  if (kernels.name === 'native') {
    kernels.attention_backward(dq, dk, dv, dout, q, k, v, out, lse, shape, { causal, docIds: null }, scale);
    return;
  }
  const { B, T: c, H, Hkv, D } = shape;
  const g = H / Hkv;
  const dkAcc = new Float64Array(B * c * Hkv * D); // [B,c,Hkv,D]
  const dvAcc = new Float64Array(B * c * Hkv * D); // [B,c,Hkv,D]
  const dqAcc = new Float64Array(D); // [D]
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / g);
      for (let i = 0; i < c; i++) {
        const qo = ((b * c + i) * H + h) * D; // q, dq, dout, out row [D]
        const l = lse[(b * H + h) * c + i] as number;
        dqAcc.fill(0);
        let dd = 0; // rowsum(dout · out)
        for (let d = 0; d < D; d++) dd += (dout[qo + d] as number) * (out[qo + d] as number);
        const last = causal ? i : c - 1;
        for (let j = 0; j <= last && l !== -Infinity; j++) {
          const ko = ((b * c + j) * Hkv + hk) * D; // k, v row [D]
          let s = 0;
          let dp = 0;
          for (let d = 0; d < D; d++) {
            s += (q[qo + d] as number) * (k[ko + d] as number);
            dp += (dout[qo + d] as number) * (v[ko + d] as number);
          }
          const p = Math.exp(s * scale - l);
          const ds = p * (dp - dd) * scale;
          for (let d = 0; d < D; d++) {
            dqAcc[d] = (dqAcc[d] as number) + ds * (k[ko + d] as number);
            dkAcc[ko + d] = (dkAcc[ko + d] as number) + ds * (q[qo + d] as number);
            dvAcc[ko + d] = (dvAcc[ko + d] as number) + p * (dout[qo + d] as number);
          }
        }
        for (let d = 0; d < D; d++) dq[qo + d] = dqAcc[d] as number;
      }
    }
  }
  for (let n = 0; n < dkAcc.length; n++) {
    dk[n] = dkAcc[n] as number;
    dv[n] = dvAcc[n] as number;
  }
}
