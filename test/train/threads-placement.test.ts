// Thread placement: ranks x threads per rank from the cores, never oversubscribing them, and the
// core tokens that let only `concurrent` ranks compute at once while the others wait on a core
// or on communication (4 ranks, 2 tokens: at most 2 compute at once, all-to-alls still complete).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { buildConfig, type UlyssesConfig } from '../../src/train/config.js';
import { createCoreGateBuffer } from '../../src/train/core-gate.js';
import { coreGateFor, describePlacement, placeRanks } from '../../src/train/placement.js';
import { threadsPerRank } from '../../src/train/spmd-train.js';
import type { GateArgs, GateResult } from './threads-gate-worker.js';

function config(set: Record<string, unknown>): UlyssesConfig {
  return buildConfig(Object.entries({ 'model.n_heads': 8, ...set }).map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'test' })));
}

const cores = { machine: 2, usable: 2 };

test('P ranks on C cores: min(P, C) compute at once with C / that many threads; never more threads than cores', () => {
  const cases: [number, number, number | 'auto', { threads: number; concurrent: number; gated: boolean }][] = [
    [1, 2, 'auto', { threads: 2, concurrent: 1, gated: false }],
    [2, 2, 'auto', { threads: 1, concurrent: 2, gated: false }],
    [4, 2, 'auto', { threads: 1, concurrent: 2, gated: true }],
    [4, 2, 1, { threads: 2, concurrent: 1, gated: true }],
    [4, 2, 4, { threads: 1, concurrent: 4, gated: false }],
    [4, 8, 'auto', { threads: 2, concurrent: 4, gated: false }],
    [8, 4, 'auto', { threads: 1, concurrent: 4, gated: true }],
  ];
  for (const [sp, threads, k, want] of cases) {
    const c = config({ sequence_parallel_size: sp, 'train.threads': threads, 'train.rank_concurrency': k });
    const p = placeRanks(c, 'threads', {}, cores);
    assert.deepEqual({ threads: p.threads, concurrent: p.concurrent, gated: p.gated }, want, `sp ${sp} on ${threads} cores, rank_concurrency ${k}`);
    assert.equal(threadsPerRank(c, 'threads', {}, cores), p.threads);
    if (k === 'auto') assert.ok(p.threads * p.concurrent <= threads, 'auto never oversubscribes');
    assert.equal(coreGateFor(p) !== null, p.gated);
  }
  const old = placeRanks(config({ sequence_parallel_size: 4, 'train.threads': 2, 'train.rank_concurrency': 4 }), 'threads', {}, cores);
  assert.equal(describePlacement(old), 'placement: 4 rank(s) x 1 thread(s) on 2 core(s), all computing at once - 4 threads on 2 cores, oversubscribed 2.0x');
  const auto = placeRanks(config({ sequence_parallel_size: 4, 'train.threads': 2 }), 'threads', {}, cores);
  assert.equal(describePlacement(auto), 'placement: 4 rank(s) x 1 thread(s) on 2 core(s), 2 computing at once (core tokens)');
});

test('mpi: no core tokens; threads are the machine cores over its local ranks', () => {
  const c = config({ sequence_parallel_size: 4 });
  const p = placeRanks(c, 'mpi', { OMPI_COMM_WORLD_LOCAL_SIZE: '2' }, { machine: 8, usable: 8 });
  assert.deepEqual({ threads: p.threads, gated: p.gated }, { threads: 4, gated: false });
});

test('rank_concurrency below 1 is refused with the allowed values', () => {
  assert.throws(() => config({ 'train.rank_concurrency': 0 }), /train\.rank_concurrency/);
});

test('4 ranks with 2 core tokens: at most 2 compute at once, and every all-to-all completes', { timeout: 30_000 }, async () => {
  const counter = new SharedArrayBuffer(8);
  const args: GateArgs = { gate: createCoreGateBuffer(2), counter, rounds: 12 };
  const results = await launchThreads<GateResult>(4, new URL('./threads-gate-worker.js', import.meta.url), args);
  const most = Math.max(...results.map((r) => r.most));
  assert.ok(most >= 1 && most <= 2, `at most two ranks computed at once, saw ${most}`);
  results.forEach((r) => {
    for (let round = 0; round < 12; round++) {
      assert.deepEqual(r.received.slice(round * 4, round * 4 + 4), [0, 100, 200, 300].map((x) => x + round), `round ${round}`);
    }
  });
  assert.equal(Atomics.load(new Int32Array(args.gate), 0), 2, 'every token was handed back');
});

test('1 token: ranks compute one at a time', { timeout: 30_000 }, async () => {
  const counter = new SharedArrayBuffer(8);
  const results = await launchThreads<GateResult>(4, new URL('./threads-gate-worker.js', import.meta.url), { gate: createCoreGateBuffer(1), counter, rounds: 6 });
  assert.equal(Math.max(...results.map((r) => r.most)), 1);
});
