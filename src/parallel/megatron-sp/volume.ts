// The communication volume of Megatron-LM sequence parallelism (tensor parallelism with the
// sequence-sharded regions of Korthikanti et al. 2022), per transformer layer and rank, in the
// accounting's terms (bytes to and from other ranks; a rank's own chunk counts zero).
//
// Shape legend: B = batch, N = full sequence, P = tp = sp degree, C = model width,
// n_r = tokens of rank r (splitCounts(N, P): the first N % P ranks hold one more).
//   forward:  all-gather [B, n_r, C] -> [B, N, C] before qkv and before fc,
//             reduce-scatter [B, N, C] -> [B, n_r, C] after the attention and MLP projections
//   backward: the mirror image, a reduce-scatter where forward all-gathered and an all-gather
//             where forward reduce-scattered (the gathered inputs are kept, never re-gathered)
import type { ByteCount } from '../../dist/accounting.js';

export interface MegatronSpVolume {
  readonly forward: ByteCount;
  readonly backward: ByteCount;
}

function tokenCount(N: number, P: number, r: number): number {
  return Math.floor(N / P) + (r < N % P ? 1 : 0);
}

/**
 * Bytes rank `rank` sends and receives in one layer, bpe bytes per element. One all-gather of its
 * [B, n_me, C] shard sends (P−1)·B·n_me·C and receives B·(N − n_me)·C elements; one reduce-scatter
 * of [B, N, C] sends B·(N − n_me)·C and receives (P−1)·B·n_me·C. Two of each per direction, so with
 * N % P == 0 each way carries 4·B·N·C·(P−1)/P elements, the paper's 4·N·h less the self chunk.
 * `rank` matters only for uneven splits (N % P != 0); it defaults to rank 0.
 */
export function megatronSpLayerBytes(B: number, N: number, P: number, C: number, bpe = 4, rank = 0): MegatronSpVolume {
  if (!Number.isInteger(P) || P < 1) throw new RangeError(`megatronSpLayerBytes: P = ${P}; it must be a positive integer`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= P) {
    throw new RangeError(`megatronSpLayerBytes: rank ${rank} outside [0, ${P})`);
  }
  const own = B * tokenCount(N, P, rank) * C;
  const others = B * (N - tokenCount(N, P, rank)) * C;
  const gather = { sent: (P - 1) * own, received: others };
  const scatter = { sent: others, received: (P - 1) * own };
  const both: ByteCount = {
    sent: 2 * (gather.sent + scatter.sent) * bpe,
    received: 2 * (gather.received + scatter.received) * bpe,
  };
  return { forward: both, backward: { ...both } };
}
