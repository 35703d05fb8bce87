// The rank grid as a table: (sizes, order, rank) -> coordinates and every group with its ring
// neighbours, worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DP_CONTIGUOUS, allGroups, gridCoords, gridRank, makeGrid, rankGroups, type GridOptions, type GridSizes,
} from '../../src/dist/grid.js';
import type { Group } from '../../src/dist/group.js';

type Kind = 'world' | 'dp' | 'sp' | 'ulysses' | 'ring' | 'tp' | 'zero';

interface Row {
  readonly sizes: GridSizes;
  readonly options?: GridOptions;
  readonly rank: number;
  readonly coords: { dp: number; sp: number; ring: number; ulysses: number; tp: number };
  /** Expected members per group kind; this rank's index is where it appears. */
  readonly groups: Partial<Record<Kind, number[]>>;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const table: Row[] = [
  {
    sizes: { dp: 1, sp: 1 }, rank: 0, coords: { dp: 0, sp: 0, ring: 0, ulysses: 0, tp: 0 },
    groups: { world: [0], dp: [0], sp: [0], ulysses: [0], ring: [0], tp: [0], zero: [0] },
  },
  {
    sizes: { dp: 2, sp: 4 }, rank: 5, coords: { dp: 1, sp: 1, ring: 0, ulysses: 1, tp: 0 },
    groups: { world: range(8), dp: [1, 5], sp: [4, 5, 6, 7], ulysses: [4, 5, 6, 7], ring: [5], tp: [5], zero: range(8) },
  },
  {
    sizes: { dp: 2, sp: 4, ring: 2 }, rank: 5, coords: { dp: 1, sp: 1, ring: 0, ulysses: 1, tp: 0 },
    groups: { dp: [1, 5], sp: [4, 5, 6, 7], ulysses: [4, 5], ring: [5, 7], zero: range(8) },
  },
  {
    sizes: { dp: 2, sp: 4, ring: 2 }, rank: 6, coords: { dp: 1, sp: 2, ring: 1, ulysses: 0, tp: 0 },
    groups: { dp: [2, 6], sp: [4, 5, 6, 7], ulysses: [6, 7], ring: [4, 6] },
  },
  {
    sizes: { dp: 2, sp: 3 }, options: { order: DP_CONTIGUOUS }, rank: 3, coords: { dp: 1, sp: 1, ring: 0, ulysses: 1, tp: 0 },
    groups: { dp: [2, 3], sp: [1, 3, 5], ulysses: [1, 3, 5], ring: [3], zero: [0, 2, 4, 1, 3, 5] },
  },
  {
    sizes: { dp: 1, sp: 2, tp: 2 }, rank: 3, coords: { dp: 0, sp: 1, ring: 0, ulysses: 1, tp: 1 },
    groups: { world: range(4), dp: [3], sp: [1, 3], tp: [2, 3], zero: [1, 3] },
  },
  {
    sizes: { dp: 1, sp: 6, ring: 3 }, rank: 4, coords: { dp: 0, sp: 4, ring: 2, ulysses: 0, tp: 0 },
    groups: { sp: range(6), ulysses: [4, 5], ring: [0, 2, 4] },
  },
  {
    sizes: { dp: 3, sp: 1 }, rank: 2, coords: { dp: 2, sp: 0, ring: 0, ulysses: 0, tp: 0 },
    groups: { dp: [0, 1, 2], sp: [2], zero: [0, 1, 2] },
  },
];

function expectGroup(g: Group, kind: Kind, members: number[], rank: number): void {
  const index = members.indexOf(rank);
  const size = members.length;
  assert.deepEqual(
    { name: g.name, ranks: g.ranks, index: g.index, next: g.next, prev: g.prev },
    { name: kind, ranks: members, index, next: (index + 1) % size, prev: (index + size - 1) % size },
    `${kind} group of rank ${rank}`,
  );
}

for (const row of table) {
  const label = `${JSON.stringify(row.sizes)}${row.options?.order ? ` order ${row.options.order.join('>')}` : ''} rank ${row.rank}`;
  test(`grid: ${label}`, () => {
    const grid = makeGrid(row.sizes, row.options);
    assert.deepEqual(gridCoords(grid, row.rank), row.coords);
    const groups = rankGroups(grid, row.rank);
    for (const [kind, members] of Object.entries(row.groups) as [Kind, number[]][]) {
      expectGroup(groups[kind], kind, members, row.rank);
    }
  });
}

test('grid: ring and ulysses neighbours of a 3-member ring', () => {
  const { ring } = rankGroups(makeGrid({ dp: 1, sp: 6, ring: 3 }), 4);
  assert.equal(ring.ranks[ring.next], 0);
  assert.equal(ring.ranks[ring.prev], 2);
});

test('grid: allGroups lists every group of a kind once', () => {
  const grid = makeGrid({ dp: 2, sp: 4, ring: 2 });
  assert.deepEqual(allGroups(grid, 'dp'), [[0, 4], [1, 5], [2, 6], [3, 7]]);
  assert.deepEqual(allGroups(grid, 'sp'), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(allGroups(grid, 'ulysses'), [[0, 1], [2, 3], [4, 5], [6, 7]]);
  assert.deepEqual(allGroups(grid, 'ring'), [[0, 2], [1, 3], [4, 6], [5, 7]]);
  assert.deepEqual(allGroups(grid, 'zero'), [range(8)]);
  assert.deepEqual(allGroups(makeGrid({ dp: 2, sp: 3 }, { order: DP_CONTIGUOUS }), 'sp'), [[0, 2, 4], [1, 3, 5]]);
});

test('grid: gridRank inverts gridCoords for every rank and order', () => {
  for (const order of [undefined, DP_CONTIGUOUS, ['tp', 'ulysses', 'dp', 'ring'] as const]) {
    const grid = makeGrid({ dp: 2, sp: 6, ring: 3, tp: 2 }, order ? { order } : {});
    assert.equal(grid.world, 24);
    const seen = new Set<number>();
    for (let r = 0; r < grid.world; r++) {
      const c = gridCoords(grid, r);
      assert.equal(c.sp, c.ring * grid.ulysses + c.ulysses);
      assert.equal(gridRank(grid, c), r);
      seen.add(c.dp * 1000 + c.sp * 10 + c.tp);
    }
    assert.equal(seen.size, 24, 'coordinates are distinct');
  }
});

test('grid: bad sizes and orders are refused naming the field', () => {
  assert.throws(() => makeGrid({ dp: 2, sp: 4, ring: 3 }), /ring \(3\) must divide sp \(4\)/);
  assert.throws(() => makeGrid({ dp: 0, sp: 4 }), /dp must be a positive integer, got 0/);
  assert.throws(() => makeGrid({ dp: 1, sp: 2.5 }), /sp must be a positive integer/);
  assert.throws(() => makeGrid({ dp: 1, sp: 2 }, { order: ['dp', 'sp' as 'ring', 'ulysses', 'tp'] }), /must be a permutation/);
  assert.throws(() => gridCoords(makeGrid({ dp: 1, sp: 2 }), 2), /rank 2 is outside 0\.\.1/);
});
