// Between shards and whole vectors: a collective that assembles a sharded vector in flat layout
// (in bounded blocks, so ranks that only pass data along never hold the whole of it), and the
// local slicing of a whole vector into this rank's shard.
import type { GroupOps } from './group-ops.js';
import type { ShardLayout } from './layout.js';

/** Elements each member contributes per all-gather when assembling a vector. */
const BLOCK = 1 << 18;

/**
 * Collective over the layout's group: the flat vector whose shard on every member is `shard`,
 * returned where keep is true (elsewhere null).
 */
export function gatherShards(layout: ShardLayout, ops: GroupOps, shard: Float32Array, keep: boolean, block = BLOCK): Float32Array | null {
  const out = keep ? new Float32Array(layout.numel) : null;
  gatherShardsInto(layout, ops, shard, out, block);
  return out;
}

/** Collective: writes the flat vector whose shard on every member is `shard` into out (null: only send). */
export function gatherShardsInto(layout: ShardLayout, ops: GroupOps, shard: Float32Array, out: Float32Array | null, block = BLOCK): void {
  const P = layout.world;
  let recv = new Float32Array(0);
  layout.segments.forEach((g, s) => {
    const pieces = Array.from({ length: P }, (_, j) => layout.pieces(s, j));
    for (let from = 0; from < g.chunk; from += block) {
      const n = Math.min(block, g.chunk - from);
      if (recv.length < P * n) recv = new Float32Array(P * n);
      const r = recv.subarray(0, P * n); // [P, n]: member j's elements [from, from + n) of its chunk
      ops.allGather(shard.subarray(g.shardOffset + from, g.shardOffset + from + n), r);
      if (!out) continue;
      pieces.forEach((list, j) => {
        for (const p of list) {
          const lo = Math.max(p.at, from);
          const hi = Math.min(p.at + p.size, from + n);
          if (hi > lo) out.set(r.subarray(j * n + lo - from, j * n + hi - from), p.flat + lo - p.at);
        }
      });
    }
  });
}

/** shard = this rank's part of the flat vector full (padding zeroed). */
export function sliceShard(layout: ShardLayout, full: Float32Array, shard: Float32Array): void {
  if (full.length < layout.numel) throw new RangeError(`sliceShard: the vector has ${full.length} elements, the layout ${layout.numel}`);
  shard.fill(0);
  layout.segments.forEach((g, s) => {
    for (const p of layout.pieces(s, layout.rank)) shard.set(full.subarray(p.flat, p.flat + p.size), g.shardOffset + p.at);
  });
}
