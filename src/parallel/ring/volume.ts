// The communication volume of ring attention and of hybrid Ulysses x ring attention, per layer and
// rank, in the accounting's terms (bytes sent to and received from other ranks).
//
// Shape legend: B = batch, N = full sequence, P = ring size, n = N/P tokens a ring member holds,
// H / Hkv = query / kv heads, D = head size, U = ulysses degree, R = ring degree (hybrid).
//   ring forward:  P−1 hops, each one sendRecv of the k,v block this rank holds: 2·B·n·Hkv·D
//   ring backward: P−1 hops of k,v again, and P hops of the dk,dv accumulators (they travel the
//                  whole ring so that each returns to the rank that owns its block): 2·B·n·Hkv·D each
// Every hop sends as much as it receives, so sent = received.
import type { ByteCount } from '../../dist/accounting.js';
import { makeUlyssesPlan } from '../ulysses/plan.js';
import { ulyssesAttentionBytes } from '../ulysses/volume.js';

export interface RingAttentionVolume {
  readonly forward: ByteCount;
  readonly backward: ByteCount;
}

/** The k,v block one rank holds: 2·B·(N/P)·Hkv·D elements. */
function kvBlockElements(B: number, N: number, P: number, Hkv: number, D: number): number {
  return (2 * B * N * Hkv * D) / P;
}

/**
 * Bytes one rank of a ring of P sends and receives in one attention layer (N divisible by 2P):
 * forward (P−1)·2·B·(N/P)·Hkv·D·bpe, backward (2P−1)·2·B·(N/P)·Hkv·D·bpe. H is unused (q never
 * moves) and kept so the signature matches the other strategies' formulas.
 */
export function ringAttentionBytes(
  B: number, N: number, P: number, _H: number, Hkv: number, D: number, bpe = 4,
): RingAttentionVolume {
  const block = kvBlockElements(B, N, P, Hkv, D) * bpe;
  const fwd = (P - 1) * block;
  const bwd = (P - 1) * block + P * block;
  if (P === 1) return { forward: { sent: 0, received: 0 }, backward: { sent: 0, received: 0 } };
  return { forward: { sent: fwd, received: fwd }, backward: { sent: bwd, received: bwd } };
}

/**
 * Bytes one rank of a hybrid group (ulysses degree U inside, ring degree R outside, sp = U·R)
 * sends and receives in one attention layer: the Ulysses all-to-alls of its ulysses group over the
 * N/R tokens of its ring member's share, plus the ring passes over the heads Ulysses gave it
 * (Hkv/U kv heads when U divides Hkv; with grouped-query routing the kv heads rank `me` of the
 * ulysses group reads, or one per query head where the routing expands them).
 */
export function hybridAttentionBytes(
  B: number, N: number, U: number, R: number, H: number, Hkv: number, D: number, bpe = 4, me = 0,
): RingAttentionVolume {
  const plan = makeUlyssesPlan(U, N / R, H, Hkv);
  const uly = ulyssesAttentionBytes(plan, me, B, D, false, bpe);
  const map = plan.kvMaps[me] as { uniform: boolean; kvOf: readonly number[] };
  const ringKvHeads = map.uniform ? (plan.kv[me] as { count: number }).count : map.kvOf.length;
  const ring = ringAttentionBytes(B, N, R, 0, ringKvHeads, D, bpe);
  const sum = (a: ByteCount, b: ByteCount): ByteCount => ({ sent: a.sent + b.sent, received: a.received + b.received });
  return { forward: sum(uly.forward, ring.forward), backward: sum(uly.backward, ring.backward) };
}
