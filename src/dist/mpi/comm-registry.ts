// Maps groups (ordered lists of global ranks) to MPI communicators. MPI creates a communicator
// collectively over its parent, so every rank must register the same group lists in the same order;
// registration splits MPI_COMM_WORLD once per layer of disjoint groups, keyed by group order, so the
// rank of this process in each communicator equals its index in the group.
import { allGroups, type GroupKind, type RankGrid } from '../grid.js';
import type { MpiBinding, MpiComm } from '../../kernels/native/mpi-binding.js';

/** Member lists of groups, each in group order. */
export type GroupLists = readonly (readonly number[])[];

/** Every group kind of a grid except world, which always exists. */
const GRID_KINDS: readonly GroupKind[] = ['dp', 'sp', 'ulysses', 'ring', 'tp', 'zero'];

/** The member lists of every group of a grid (duplicates are harmless: they are registered once). */
export function gridGroupLists(grid: RankGrid): number[][] {
  return GRID_KINDS.flatMap((kind) => allGroups(grid, kind));
}

export function groupKey(ranks: readonly number[]): string {
  return ranks.join(',');
}

/** 32-bit FNV-1a of text: a cheap fingerprint all ranks compare to agree on what they register. */
function fingerprint(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class CommRegistry {
  readonly #mpi: MpiBinding;
  readonly #rank: number;
  readonly #world: number;
  /** Communicator handles of the registered groups this rank belongs to. */
  readonly #handles = new Map<string, MpiComm>();
  /** Keys of every registered group, members or not: identical on every rank. */
  readonly #known = new Set<string>();

  constructor(mpi: MpiBinding, rank: number, world: number) {
    this.#mpi = mpi;
    this.#rank = rank;
    this.#world = world;
    const key = groupKey(Array.from({ length: world }, (_, r) => r));
    this.#handles.set(key, 0);
    this.#known.add(key);
  }

  /** The communicator of a group, or undefined if it was never registered. */
  handle(ranks: readonly number[]): MpiComm | undefined {
    return this.#handles.get(groupKey(ranks));
  }

  /**
   * Creates communicators for `lists` not registered yet. Collective over the world: every rank
   * must call it with the same lists in the same order (checked with a fingerprint all-reduce).
   */
  add(lists: GroupLists): void {
    const valid = lists.map((l) => this.#check(l));
    const h = fingerprint(valid.map(groupKey).join(';'));
    const agree = Float64Array.from([h, -h]);
    this.#mpi.mpiAllReduce(agree, agree, 'max', 0);
    if (agree[0] !== h || agree[1] !== -h) {
      throw new Error(
        `MpiCommunicator.addGroups: ranks passed different group lists (rank ${this.#rank} passed ` +
          `${valid.map((l) => `[${l.join(',')}]`).join(' ')}); every rank must pass the same lists in the same order`,
      );
    }
    const fresh: (readonly number[])[] = [];
    for (const l of valid) {
      const key = groupKey(l);
      if (this.#known.has(key)) continue;
      this.#known.add(key);
      fresh.push(l);
    }
    for (const layer of disjointLayers(fresh)) this.#split(layer);
  }

  /** Frees every communicator this registry created (collective, like creation). */
  free(): void {
    for (const [key, handle] of this.#handles) {
      if (handle !== 0) this.#mpi.mpiCommFree(handle);
      this.#handles.delete(key);
    }
  }

  #check(ranks: readonly number[]): readonly number[] {
    const label = `[${ranks.join(',')}]`;
    if (ranks.length === 0) throw new RangeError(`MpiCommunicator.addGroups: group ${label} has no ranks`);
    if (new Set(ranks).size !== ranks.length) throw new RangeError(`MpiCommunicator.addGroups: group ${label} repeats a rank`);
    for (const r of ranks) {
      if (!Number.isInteger(r) || r < 0 || r >= this.#world) {
        throw new RangeError(`MpiCommunicator.addGroups: group ${label} contains rank ${r}, outside the world of ${this.#world}`);
      }
    }
    return ranks;
  }

  /** One MPI_Comm_split of world: color = the layer group holding this rank, key = its index there. */
  #split(layer: readonly (readonly number[])[]): void {
    let color = -1;
    let key = 0;
    layer.forEach((members, c) => {
      const i = members.indexOf(this.#rank);
      if (i >= 0) [color, key] = [c, i];
    });
    const handle = this.#mpi.mpiCommSplit(color, key, 0);
    if (color < 0) return;
    const members = layer[color] as readonly number[];
    const info = this.#mpi.mpiCommInfo(handle);
    if (info.rank !== key || info.size !== members.length) {
      throw new Error(`MPI split for group [${members.join(',')}] gave rank ${info.rank} of ${info.size}, expected ${key} of ${members.length}`);
    }
    this.#handles.set(groupKey(members), handle);
  }
}

/** Greedily packs groups into layers whose groups share no rank, keeping the given order. */
function disjointLayers(groups: readonly (readonly number[])[]): (readonly number[])[][] {
  const layers: { groups: (readonly number[])[]; used: Set<number> }[] = [];
  for (const g of groups) {
    let layer = layers.find((l) => g.every((r) => !l.used.has(r)));
    if (!layer) layers.push((layer = { groups: [], used: new Set() }));
    layer.groups.push(g);
    for (const r of g) layer.used.add(r);
  }
  return layers.map((l) => l.groups);
}
