// The communication volume of Ulysses attention, per layer and rank, in the accounting's terms
// (bytes to and from other ranks; a rank's own block is a local copy and counts zero).
//
// Shape legend: B = batch, N = full sequence, P = group size, n_r = tokens of rank r, m_r / kv_r =
// query / kv heads rank r attends over, H / Hkv = query / kv heads, D = head size.
//   forward:  q, k, v sequence-to-head, out head-to-sequence (+ docIds all-gather when masked)
//   backward: dout sequence-to-head, dq, dk, dv head-to-sequence
import type { ByteCount } from '../../dist/accounting.js';
import type { UlyssesPlan } from './plan.js';

export interface AttentionVolume {
  readonly forward: ByteCount;
  readonly backward: ByteCount;
}

/**
 * Elements one rank sends in a layer's forward when every split is equal (N % P == 0, H % P == 0,
 * Hkv % P == 0): (2·h + 2·h_kv)·B·(N/P)·(P−1)/P with h = H·D, h_kv = Hkv·D, received as much, and
 * backward the same again. This is the paper's 4·N·h/P for H = Hkv, less the self block.
 */
export function ulyssesEqualSplitElements(B: number, N: number, P: number, H: number, Hkv: number, D: number): number {
  return ((2 * H * D + 2 * Hkv * D) * B * (N / P) * (P - 1)) / P;
}

/**
 * Bytes rank `me` sends and receives in one attention layer for any plan (uneven tokens, uneven
 * heads, GQA routing where kv heads go to every rank that reads them), bpe bytes per element.
 *   q:   sent Σ_{j≠me} B·n_me·m_j·D,  received Σ_{i≠me} B·n_i·m_me·D      (dout: the same)
 *   k,v: sent Σ_{j≠me} B·n_me·kv_j·D, received Σ_{i≠me} B·n_i·kv_me·D     (dk, dv: swapped)
 *   out: sent Σ_{j≠me} B·n_j·m_me·D,  received Σ_{i≠me} B·n_me·m_i·D      (dq: the same)
 *   docIds all-gather of [B, n_r] as fp32: sent (P−1)·B·n_me, received B·(N − n_me) (4 bytes each)
 */
export function ulyssesAttentionBytes(
  plan: UlyssesPlan, me: number, B: number, D: number, docIds: boolean, bpe = 4,
): AttentionVolume {
  const n = (r: number): number => plan.tokenCounts[r] as number;
  const m = (r: number): number => (plan.heads[r] as { count: number }).count;
  const kv = (r: number): number => (plan.kv[r] as { count: number }).count;
  const others = (f: (j: number) => number): number => {
    let s = 0;
    for (let j = 0; j < plan.P; j++) if (j !== me) s += f(j);
    return s;
  };
  const qSent = others((j) => B * n(me) * m(j) * D);
  const qRecv = others((i) => B * n(i) * m(me) * D);
  const kvSent = others((j) => B * n(me) * kv(j) * D);
  const kvRecv = others((i) => B * n(i) * kv(me) * D);
  const docSent = docIds ? (plan.P - 1) * B * n(me) * 4 : 0;
  const docRecv = docIds ? B * (plan.N - n(me)) * 4 : 0;
  // out is head-to-sequence: what q received it sends back, and vice versa.
  return {
    forward: {
      sent: (qSent + 2 * kvSent + qRecv) * bpe + docSent,
      received: (qRecv + 2 * kvRecv + qSent) * bpe + docRecv,
    },
    backward: {
      sent: (qSent + qRecv + 2 * kvRecv) * bpe,
      received: (qRecv + qSent + 2 * kvSent) * bpe,
    },
  };
}
