// Who owns which part of the model states. The flat parameter vector is cut into segments (the
// whole vector for ZeRO-1/2, one per provider unit for ZeRO-3); every segment is split into P
// equal chunks, padded at its end, and member r of the group owns chunk r of every segment. A
// rank's shard is its chunks laid end to end, so shards have one size on every rank and each
// segment's all-gather and reduce-scatter moves equal chunks.
import type { ParameterInfo } from '../../nn/parameters.js';

/** A run of the flat vector. */
export interface FlatRange {
  offset: number;
  size: number;
}

export interface Segment {
  /** The flat ranges the segment covers, in flat order; segment-local positions run through them in turn. */
  ranges: FlatRange[];
  /** Elements in the ranges. */
  size: number;
  /** Elements per member chunk: ceil(size / P); the last chunks hold zero padding. */
  chunk: number;
  /** Where this segment's chunk starts in every rank's shard. */
  shardOffset: number;
}

/** Part of a member's chunk that holds real elements: chunk position `at`, flat position `flat`, `size` elements. */
export interface Piece {
  at: number;
  flat: number;
  size: number;
}

/** A contiguous stretch of this rank's shard with one weight-decay setting. */
export interface ShardRun {
  /** Position in the shard. */
  at: number;
  /** Position in the flat vector. */
  flat: number;
  size: number;
  decay: boolean;
}

export class ShardLayout {
  readonly shardSize: number;

  private constructor(
    readonly numel: number,
    readonly world: number,
    readonly rank: number,
    readonly segments: readonly Segment[],
  ) {
    this.shardSize = segments.reduce((s, g) => s + g.chunk, 0);
  }

  /** One segment: the whole flat vector, so a rank's shard is one contiguous stretch of it (ZeRO-1/2). */
  static flat(numel: number, world: number, rank: number): ShardLayout {
    checkMember(world, rank);
    return new ShardLayout(numel, world, rank, [{ ranges: [{ offset: 0, size: numel }], size: numel, chunk: Math.ceil(numel / world), shardOffset: 0 }]);
  }

  /** One segment per unit of parameter names (ZeRO-3); every parameter must be in exactly one unit. */
  static units(infos: readonly ParameterInfo[], units: readonly (readonly string[])[], world: number, rank: number): ShardLayout {
    checkMember(world, rank);
    const byName = new Map(infos.map((i) => [i.name, i]));
    const seen = new Set<string>();
    const segments: Segment[] = [];
    let shardOffset = 0;
    units.forEach((names, u) => {
      const members = names.map((n) => {
        const info = byName.get(n);
        if (!info) throw new Error(`ShardLayout: unit ${u} names ${n}, which the model does not have`);
        if (seen.has(n)) throw new Error(`ShardLayout: ${n} is in more than one unit`);
        seen.add(n);
        return info;
      }).sort((a, b) => a.offset - b.offset);
      const ranges: FlatRange[] = [];
      for (const i of members) {
        const last = ranges[ranges.length - 1];
        if (last && last.offset + last.size === i.offset) last.size += i.size;
        else ranges.push({ offset: i.offset, size: i.size });
      }
      const size = ranges.reduce((s, r) => s + r.size, 0);
      const chunk = Math.ceil(size / world);
      segments.push({ ranges, size, chunk, shardOffset });
      shardOffset += chunk;
    });
    const missing = infos.find((i) => !seen.has(i.name));
    if (missing) throw new Error(`ShardLayout: parameter ${missing.name} is in no unit`);
    const numel = infos.reduce((s, i) => s + i.size, 0);
    return new ShardLayout(numel, world, rank, segments);
  }

  segment(s: number): Segment {
    const g = this.segments[s];
    if (!g) throw new RangeError(`ShardLayout: no segment ${s}`);
    return g;
  }

  /** The real elements of member j's chunk of segment s, mapped to the flat vector. */
  pieces(s: number, member: number): Piece[] {
    const g = this.segment(s);
    const from = member * g.chunk;
    const to = Math.min(from + g.chunk, g.size);
    const out: Piece[] = [];
    let local = 0; // segment-local position where the current range starts
    for (const r of g.ranges) {
      const lo = Math.max(from, local);
      const hi = Math.min(to, local + r.size);
      if (hi > lo) out.push({ at: lo - from, flat: r.offset + (lo - local), size: hi - lo });
      local += r.size;
      if (local >= to) break;
    }
    return out;
  }

  /** Real elements in this rank's shard (the shard size minus padding). */
  get ownedElements(): number {
    let n = 0;
    for (let s = 0; s < this.segments.length; s++) for (const p of this.pieces(s, this.rank)) n += p.size;
    return n;
  }

  /** This rank's real shard elements as runs of one decay setting, contiguous in both the shard and the flat vector. */
  decayRuns(infos: readonly ParameterInfo[]): ShardRun[] {
    const sorted = [...infos].sort((a, b) => a.offset - b.offset);
    const runs: ShardRun[] = [];
    this.segments.forEach((g, s) => {
      for (const p of this.pieces(s, this.rank)) {
        let flat = p.flat;
        const end = p.flat + p.size;
        while (flat < end) {
          const info = infoAt(sorted, flat);
          const size = Math.min(end, info.offset + info.size) - flat;
          const at = g.shardOffset + p.at + (flat - p.flat);
          const last = runs[runs.length - 1];
          if (last && last.decay === info.decay && last.at + last.size === at && last.flat + last.size === flat) last.size += size;
          else runs.push({ at, flat, size, decay: info.decay });
          flat += size;
        }
      }
    });
    return runs;
  }
}

function checkMember(world: number, rank: number): void {
  if (!Number.isInteger(world) || world < 1) throw new RangeError(`ShardLayout: group size ${world} must be a positive integer`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= world) throw new RangeError(`ShardLayout: member ${rank} is outside 0..${world - 1}`);
}

/** The parameter holding flat position x (binary search over infos sorted by offset). */
function infoAt(sorted: readonly ParameterInfo[], x: number): ParameterInfo {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((sorted[mid] as ParameterInfo).offset <= x) lo = mid;
    else hi = mid - 1;
  }
  const info = sorted[lo];
  if (!info || x < info.offset || x >= info.offset + info.size) throw new RangeError(`ShardLayout: flat position ${x} belongs to no parameter`);
  return info;
}
