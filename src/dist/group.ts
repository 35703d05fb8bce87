// A process group: an ordered list of global ranks and this rank's position in it. Pure data,
// built by the rank grid (grid.ts) or by hand, and passed explicitly to every collective.

export interface Group {
  /** Axis name ('sp', 'dp', 'zero', ...); also the label accounting uses for this group. */
  readonly name: string;
  /** Global ranks in group order; collectives lay out data by this order. */
  readonly ranks: readonly number[];
  /** This rank's position in `ranks`. */
  readonly index: number;
  /** Group index of the ring successor, (index + 1) % size: where a ring step sends. */
  readonly next: number;
  /** Group index of the ring predecessor: where a ring step receives from. */
  readonly prev: number;
}

/** Builds a group of `ranks` as seen by global rank `rank`; throws if rank is not a member or ranks repeat. */
export function makeGroup(name: string, ranks: readonly number[], rank: number): Group {
  if (ranks.length === 0) throw new RangeError(`group ${name}: no ranks`);
  const seen = new Set<number>();
  for (const r of ranks) {
    if (!Number.isInteger(r) || r < 0) throw new RangeError(`group ${name}: rank ${r} is not a non-negative integer`);
    if (seen.has(r)) throw new RangeError(`group ${name}: rank ${r} appears twice in [${ranks.join(',')}]`);
    seen.add(r);
  }
  const index = ranks.indexOf(rank);
  if (index < 0) throw new RangeError(`group ${name} [${ranks.join(',')}] does not contain rank ${rank}`);
  const size = ranks.length;
  return { name, ranks: [...ranks], index, next: (index + 1) % size, prev: (index + size - 1) % size };
}

/** "sp [0,1,2,3]": how errors and logs name a group. */
export function describeGroup(group: Group): string {
  return `${group.name} [${group.ranks.join(',')}]`;
}
