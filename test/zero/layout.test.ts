// How ZeRO cuts the flat parameter vector: every element belongs to exactly one member's chunk,
// chunks of a segment are equal (padding at the end), a unit's ranges map to one contiguous
// gathered buffer, and each rank's decay runs give every element its parameter's weight-decay
// flag. On one worker every stage equals stage 0 bit for bit, and ZeRO-3 gathers each unit once per
// pass, reusing the two units a forward ends with when the backward starts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParameterStore } from '../../src/nn/parameters.js';
import { sliceShard } from '../../src/parallel/zero/collect.js';
import type { ZeroStage } from '../../src/parallel/zero/engine.js';
import { ShardLayout } from '../../src/parallel/zero/layout.js';
import { Zero3State } from '../../src/parallel/zero/zero3.js';
import { buildModel, kernelsFor } from '../../src/train/run.js';
import { Trainer } from '../../src/train/trainer.js';
import { rng } from '../helpers.js';
import { ArrayBatchSource, patternTokens, tinyConfig } from '../train/fixtures.js';

/** A store of `sizes` parameters named p0, p1, ... with alternating decay. */
function store(sizes: readonly number[]): ParameterStore {
  const s = new ParameterStore();
  sizes.forEach((n, i) => s.declare(`p${i}`, [n], i % 2 === 0));
  return s;
}

/** Asserts every flat element is owned by exactly one member, in a chunk of the segment's equal size. */
function assertPartition(P: number, make: (rank: number) => ShardLayout): void {
  const first = make(0);
  const owner = new Int32Array(first.numel).fill(-1);
  for (let r = 0; r < P; r++) {
    const l = make(r);
    assert.equal(l.shardSize, first.shardSize, 'every rank\'s shard has the same size');
    l.segments.forEach((g, s) => {
      assert.equal(g.chunk, Math.ceil(g.size / P));
      let held = 0;
      for (const p of l.pieces(s, r)) {
        assert.ok(p.at >= 0 && p.at + p.size <= g.chunk, 'a piece stays inside its chunk');
        for (let x = p.flat; x < p.flat + p.size; x++) {
          assert.equal(owner[x], -1, `flat element ${x} is owned twice`);
          owner[x] = r;
        }
        held += p.size;
      }
      assert.equal(held, Math.max(0, Math.min(g.chunk, g.size - r * g.chunk)), 'real elements of the chunk');
    });
  }
  assert.ok(owner.every((o) => o >= 0), 'every flat element has an owner');
}

test('flat layout (ZeRO-1): one contiguous, equal, padded chunk per member', () => {
  const l = ShardLayout.flat(10, 4, 3);
  assert.equal(l.shardSize, 3);
  assert.deepEqual(l.pieces(0, 3), [{ at: 0, flat: 9, size: 1 }], 'the last chunk holds one element and two of padding');
  assert.deepEqual(l.pieces(0, 1), [{ at: 0, flat: 3, size: 3 }]);
  assert.equal(l.ownedElements, 1);
  for (const P of [1, 2, 3, 4, 7]) assertPartition(P, (r) => ShardLayout.flat(23, P, r));
});

test('unit layout (ZeRO-2/3): per-unit equal chunks, units of several ranges, decay per element', () => {
  const s = store([5, 3, 4, 4, 2, 7]);
  // Unit 0 joins the first and last parameters (an embedding tied to the head), like a model's unit 0.
  const units = [['p0', 'p5'], ['p1', 'p2'], ['p3', 'p4']];
  for (const P of [1, 2, 3, 4, 6]) assertPartition(P, (r) => ShardLayout.units(s.infos, units, P, r));
  const l = ShardLayout.units(s.infos, units, 3, 1);
  assert.deepEqual(l.segment(0).ranges, [{ offset: 0, size: 5 }, { offset: 18, size: 7 }]);
  assert.equal(l.segment(0).chunk, 4);
  assert.deepEqual(l.pieces(0, 1), [{ at: 0, flat: 4, size: 1 }, { at: 1, flat: 18, size: 3 }], 'a chunk spanning both ranges');
  const r = rng(3);
  for (const P of [1, 2, 3, 5]) {
    for (let rank = 0; rank < P; rank++) {
      const lay = ShardLayout.units(s.infos, units, P, rank);
      const flat = Float32Array.from({ length: lay.numel }, () => r());
      const shard = new Float32Array(lay.shardSize);
      sliceShard(lay, flat, shard);
      let covered = 0;
      for (const run of lay.decayRuns(s.infos)) {
        for (let i = 0; i < run.size; i++) {
          const info = s.infos.find((x) => run.flat + i >= x.offset && run.flat + i < x.offset + x.size);
          assert.equal(run.decay, info?.decay, `decay of flat element ${run.flat + i}`);
          assert.equal(shard[run.at + i], flat[run.flat + i], 'a run maps shard positions onto flat positions');
        }
        covered += run.size;
      }
      assert.equal(covered, lay.ownedElements, 'the runs cover exactly the real elements');
    }
  }
  assert.throws(() => ShardLayout.units(s.infos, [['p0'], ['p1', 'p2', 'p3', 'p4', 'p5', 'p0']], 2, 0), /p0 is in more than one unit/);
  assert.throws(() => ShardLayout.units(s.infos, [['p0', 'p1']], 2, 0), /parameter p2 is in no unit/);
});

test('on one worker every ZeRO stage trains exactly like stage 0; ZeRO-3 gathers each unit once per pass', () => {
  const kernels = kernelsFor('native', 1);
  const tokens = patternTokens(600, 256, 5);
  const runs = ([0, 1, 2, 3] as ZeroStage[]).map((stage) => {
    const c = tinyConfig({ 'zero_optimization.stage': stage, gradient_clipping: 0.5, 'model.n_layers': 3 });
    const model = buildModel(c, kernels);
    const trainer = new Trainer({
      config: c, model, kernels, data: new ArrayBatchSource(tokens, 2, 16, 9), val: null, dataTokens: 0, runDir: null,
      flopsPerToken: null, peakFlops: null,
    });
    const losses = [0, 1, 2].map(() => trainer.trainStep().loss);
    return { losses, params: trainer.engine.fullVector('params', true) as Float32Array, trainer };
  });
  const zero = runs[0] as (typeof runs)[0];
  for (const [stage, r] of runs.entries()) {
    assert.deepEqual(r.losses, zero.losses, `stage ${stage}: losses`);
    assert.deepEqual(r.params, zero.params, `stage ${stage}: parameters after 3 steps`);
  }
  const z3 = (runs[3] as (typeof runs)[0]).trainer.engine as Zero3State;
  // Per micro-batch: forward gathers units 0, 1..L, 0 (L + 2); backward reuses 0 and L, then gathers L-1..1 and 0 (L).
  const L = 3;
  assert.equal(z3.provider.gatherCount, 3 * (2 * L + 2));
});
