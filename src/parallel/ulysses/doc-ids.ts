// Document ids of the whole sequence from every rank's shard: attention over the full sequence
// needs the document of every key, so the [B, n_r] shards are all-gathered into [B, N].
//
// Shape legend: B = batch, n_r = tokens of rank r, N = full sequence.
import type { Communicator } from '../../dist/communicator.js';
import type { Group } from '../../dist/group.js';
import { offsetsOf } from './plan.js';

/** fp32 holds every integer of magnitude up to 2^24 exactly, so ids travel as fp32 below that. */
export const MAX_DOC_ID = 2 ** 24;

/** Returns [B, N] document ids gathered from every rank's local [B, n_r] ids. */
export function gatherDocIds(
  comm: Communicator, group: Group, local: Int32Array, B: number, tokenCounts: readonly number[],
): Int32Array {
  const me = group.index;
  const n = tokenCounts[me] as number;
  if (local.length !== B * n) throw new RangeError(`docIds: this rank's shard has ${local.length} ids, expected B*n = ${B}*${n}`);
  const send = new Float32Array(B * n); // [B, n_me]
  for (let i = 0; i < local.length; i++) {
    const id = local[i] as number;
    if (!(Math.abs(id) <= MAX_DOC_ID)) {
      throw new RangeError(`docIds[${i}] = ${id}: sequence-parallel attention sends document ids as fp32, so they must lie in [-2^24, 2^24]`);
    }
    send[i] = id;
  }
  const counts = tokenCounts.map((c) => B * c);
  const N = tokenCounts.reduce((a, b) => a + b, 0);
  const recv = new Float32Array(B * N); // blocks [B, n_r] by rank r
  comm.allGather(send, recv, group, counts);
  const out = new Int32Array(B * N); // [B, N]
  const offsets = offsetsOf(tokenCounts);
  let r = 0;
  tokenCounts.forEach((nr, rank) => {
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < nr; t++) out[b * N + (offsets[rank] as number) + t] = recv[r++] as number;
    }
  });
  return out;
}
