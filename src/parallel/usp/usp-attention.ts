// Hybrid Ulysses x ring attention (USP): DistributedAttention over the ulysses group, whose local
// core is RingAttention over the ring group. sp = U·R ranks; sequence-parallel index s = ring·U +
// ulysses, so ulysses groups are U consecutive indices and ring groups stride U (src/dist/grid.ts).
//
// Token layout (the one the Ulysses all-to-all needs to hand the ring core whole zigzag chunks):
// the sequence is cut into 2R chunks of c = N/(2R) tokens; ring member j's share is chunk j followed
// by chunk 2R−1−j (2c = N/R tokens), and that share is split contiguously over its U ulysses ranks
// as Ulysses splits any sequence (splitCounts(N/R, U)). The sequence-to-head all-to-all
// concatenates the U pieces in ulysses order, so after it each rank holds exactly its ring
// member's share, [chunk j, chunk 2R−1−j], for H/U query heads: the input RingAttention expects.
// Backward mirrors it. P = U·R may exceed the head count, since only U ≤ H is needed.
//
// Shape legend: N = full sequence, U = ulysses degree, R = ring degree, H / Hkv = query / kv heads.
import { LocalAttention } from '../../attention/local-attention.js';
import type { AttentionCore } from '../../attention/attention-core.js';
import type { Communicator } from '../../dist/communicator.js';
import type { Group } from '../../dist/group.js';
import type { Kernels } from '../../kernels/kernels.js';
import { RingAttention } from '../ring/ring-attention.js';
import { DistributedAttention } from '../ulysses/distributed-attention.js';
import { checkUspSizes } from './degrees.js';

export interface UspGroups {
  /** The U ranks that exchange heads (consecutive sequence-parallel indices). */
  readonly ulysses: Group;
  /** The R ranks that pass k/v blocks (sequence-parallel indices that differ by multiples of U). */
  readonly ring: Group;
}

/**
 * The attention core of one rank of a U x R hybrid group for sequences of N tokens: ring attention
 * alone when U = 1, Ulysses over local attention when R = 1, Ulysses over ring attention otherwise.
 * Batches must be sharded with uspShard (src/parallel/ring/shard-batch.ts).
 */
export function createUspAttention(
  kernels: Kernels, comm: Communicator, groups: UspGroups, N: number, H: number, Hkv: number,
): AttentionCore {
  const U = groups.ulysses.ranks.length;
  const R = groups.ring.ranks.length;
  checkUspSizes(N, { ulysses: U, ring: R }, H, Hkv);
  const inner: AttentionCore = R > 1 ? new RingAttention(kernels, comm, groups.ring) : new LocalAttention(kernels);
  return U > 1 ? new DistributedAttention(inner, comm, groups.ulysses, { seqLen: N / R }) : inner;
}
