// The rank grid: pure data mapping global ranks to coordinates on the parallel axes and back, and
// every group derived from it. No globals: callers build one grid and pass groups explicitly.
//
// Axes: dp (data parallel), sp (sequence parallel) = ring x ulysses, tp (tensor parallel). The
// logical sp index of a rank is ring * ulysses + ulyssesIndex (ulysses inner, as USP does), and
// it decides which token shard the rank holds. `order` lists the physical axes from outermost to
// innermost; the innermost axis has stride 1, so its groups are consecutive ranks.
import { makeGroup, type Group } from './group.js';

export type GridAxis = 'dp' | 'ring' | 'ulysses' | 'tp';

/** Default: ranks of one sp group are consecutive (ulysses groups innermost within sp). */
export const SP_CONTIGUOUS: readonly GridAxis[] = ['dp', 'ring', 'ulysses', 'tp'];
/** Ranks of one dp group are consecutive. */
export const DP_CONTIGUOUS: readonly GridAxis[] = ['ring', 'ulysses', 'dp', 'tp'];

export interface GridSizes {
  readonly dp: number;
  readonly sp: number;
  /** Tensor-parallel size (baselines), default 1. */
  readonly tp?: number;
  /** Ring size within sp (ulysses = sp / ring), default 1: pure Ulysses. */
  readonly ring?: number;
}

export interface GridOptions {
  /** Physical axis order, outermost first; a permutation of dp, ring, ulysses, tp. */
  readonly order?: readonly GridAxis[];
}

export interface RankGrid {
  readonly world: number;
  readonly dp: number;
  readonly sp: number;
  readonly tp: number;
  readonly ring: number;
  readonly ulysses: number;
  readonly order: readonly GridAxis[];
}

export interface GridCoords {
  readonly dp: number;
  /** Logical sequence-parallel index: ring * ulysses-size + ulysses. */
  readonly sp: number;
  readonly ring: number;
  readonly ulysses: number;
  readonly tp: number;
}

export type GroupKind = 'world' | 'dp' | 'sp' | 'ulysses' | 'ring' | 'tp' | 'zero';

/** Every group a rank belongs to; `zero` is the dp x sp group ZeRO shards over. */
export interface RankGroups {
  readonly rank: number;
  readonly coords: GridCoords;
  readonly world: Group;
  readonly dp: Group;
  readonly sp: Group;
  readonly ulysses: Group;
  readonly ring: Group;
  readonly tp: Group;
  readonly zero: Group;
}

const AXES: readonly GridAxis[] = ['dp', 'ring', 'ulysses', 'tp'];

/** Axes each group kind varies, major first; the other coordinates stay fixed. */
const VARYING: Record<Exclude<GroupKind, 'world'>, readonly GridAxis[]> = {
  dp: ['dp'],
  sp: ['ring', 'ulysses'],
  ulysses: ['ulysses'],
  ring: ['ring'],
  tp: ['tp'],
  zero: ['dp', 'ring', 'ulysses'],
};

function positive(field: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1) throw new RangeError(`grid: ${field} must be a positive integer, got ${String(v)}`);
  return x;
}

export function makeGrid(sizes: GridSizes, options: GridOptions = {}): RankGrid {
  const dp = positive('dp', sizes.dp, 1);
  const sp = positive('sp', sizes.sp, 1);
  const tp = positive('tp', sizes.tp, 1);
  const ring = positive('ring', sizes.ring, 1);
  if (sp % ring !== 0) throw new RangeError(`grid: ring (${ring}) must divide sp (${sp})`);
  const order = options.order ?? SP_CONTIGUOUS;
  if (order.length !== AXES.length || AXES.some((a) => !order.includes(a))) {
    throw new RangeError(`grid: order [${order.join(', ')}] must be a permutation of ${AXES.join(', ')}`);
  }
  return { world: dp * sp * tp, dp, sp, tp, ring, ulysses: sp / ring, order: [...order] };
}

function axisSize(grid: RankGrid, axis: GridAxis): number {
  return grid[axis];
}

function stride(grid: RankGrid, axis: GridAxis): number {
  let s = 1;
  for (let i = grid.order.length - 1; i >= 0; i--) {
    const a = grid.order[i] as GridAxis;
    if (a === axis) return s;
    s *= axisSize(grid, a);
  }
  throw new RangeError(`grid: unknown axis ${axis}`);
}

function checkRank(grid: RankGrid, rank: number): void {
  if (!Number.isInteger(rank) || rank < 0 || rank >= grid.world) {
    throw new RangeError(`grid: rank ${rank} is outside 0..${grid.world - 1}`);
  }
}

export function gridCoords(grid: RankGrid, rank: number): GridCoords {
  checkRank(grid, rank);
  const c = (a: GridAxis): number => Math.floor(rank / stride(grid, a)) % axisSize(grid, a);
  const ring = c('ring');
  const ulysses = c('ulysses');
  return { dp: c('dp'), sp: ring * grid.ulysses + ulysses, ring, ulysses, tp: c('tp') };
}

/** The global rank at the given physical coordinates. */
export function gridRank(grid: RankGrid, coords: Readonly<Record<GridAxis, number>>): number {
  let rank = 0;
  for (const a of AXES) {
    const v = coords[a];
    if (!Number.isInteger(v) || v < 0 || v >= axisSize(grid, a)) {
      throw new RangeError(`grid: ${a} coordinate ${v} is outside 0..${axisSize(grid, a) - 1}`);
    }
    rank += v * stride(grid, a);
  }
  return rank;
}

/** Members, in group order, of the `kind` group that contains `rank`. */
export function groupRanks(grid: RankGrid, kind: GroupKind, rank: number): number[] {
  checkRank(grid, rank);
  if (kind === 'world') return Array.from({ length: grid.world }, (_, r) => r);
  const own = gridCoords(grid, rank);
  const varying = VARYING[kind];
  const out: number[] = [];
  const coords: Record<GridAxis, number> = { dp: own.dp, ring: own.ring, ulysses: own.ulysses, tp: own.tp };
  const visit = (depth: number): void => {
    const axis = varying[depth];
    if (axis === undefined) {
      out.push(gridRank(grid, coords));
      return;
    }
    for (let v = 0; v < axisSize(grid, axis); v++) {
      coords[axis] = v;
      visit(depth + 1);
    }
  };
  visit(0);
  return out;
}

/** Every distinct group of one kind, ordered by their first member. */
export function allGroups(grid: RankGrid, kind: GroupKind): number[][] {
  const seen = new Set<string>();
  const groups: number[][] = [];
  for (let r = 0; r < grid.world; r++) {
    const g = groupRanks(grid, kind, r);
    const key = g.join(',');
    if (!seen.has(key)) {
      seen.add(key);
      groups.push(g);
    }
  }
  return groups.sort((a, b) => (a[0] as number) - (b[0] as number));
}

export function rankGroups(grid: RankGrid, rank: number): RankGroups {
  const g = (kind: GroupKind): Group => makeGroup(kind, groupRanks(grid, kind, rank), rank);
  return {
    rank,
    coords: gridCoords(grid, rank),
    world: g('world'),
    dp: g('dp'),
    sp: g('sp'),
    ulysses: g('ulysses'),
    ring: g('ring'),
    tp: g('tp'),
    zero: g('zero'),
  };
}
