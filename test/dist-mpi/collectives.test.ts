// The shared collective checks (test/dist/collectives-worker.ts, schedule-worker.ts) on the MPI
// backend under mpirun with np in {1, 2, 3, 4, 8}, over shared memory and TCP, plus accounting:
// every rank records the same bytes as the threads backend for the same calls.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { AccountingResult } from '../dist/accounting-worker.js';
import type { CollectivesArgs } from '../dist/collectives-worker.js';
import type { ScheduleArgs } from '../dist/schedule-worker.js';
import { canRun, mpirunJobs, results, singletonJobs } from './mpirun.js';
import type { SpmdJob } from './spmd-program.js';

const all: SpmdJob = { entry: 'dist/collectives-worker.js', args: { scenario: 'all' } satisfies CollectivesArgs };
const async: SpmdJob = { entry: 'dist/collectives-worker.js', args: { scenario: 'async' } satisfies CollectivesArgs };
const accounting: SpmdJob = { entry: 'dist/accounting-worker.js' };
const schedule: SpmdJob = { entry: 'dist/schedule-worker.js', args: { seed: 1, steps: 80 } satisfies ScheduleArgs };

/** Every rank made the same number of calls (SPMD), and enough of them to cover every check. */
function assertSameCalls(calls: unknown[], min: number): void {
  assert.ok(calls.every((c) => c === calls[0] && typeof c === 'number' && c >= min), `calls per rank: ${calls.join(', ')}`);
}

for (const np of [1, 2, 3, 4, 8]) {
  test(`mpi backend: every collective is exact, async forms overlap, accounting matches threads, np=${np}`, { timeout: 60_000 }, async (t) => {
    if (!canRun(t)) return;
    const jobs = np % 2 === 0 ? [all, async, accounting, schedule] : [all, async, accounting];
    const [allCalls, asyncCalls, acct, sched] = results(await mpirunJobs(np, { jobs }), np, jobs.length) as [
      unknown[], unknown[], AccountingResult[], unknown[] | undefined,
    ];
    assertSameCalls(allCalls, 30);
    assert.deepEqual(asyncCalls, new Array<number>(np).fill(17));
    const threads = await launchThreads<AccountingResult>(np, new URL('../dist/accounting-worker.js', import.meta.url));
    assert.deepEqual(acct, threads, 'bytes and calls per collective, per group and in total');
    if (sched) assert.deepEqual(sched, new Array<number>(np).fill(80));
  });
}

test('mpi backend: every collective is exact over TCP (--mca btl tcp,self), np=3', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const [allCalls] = results(await mpirunJobs(3, { jobs: [all] }, ['--mca', 'btl', 'tcp,self']), 3, 1) as [unknown[]];
  assertSameCalls(allCalls, 30);
});

test('mpi backend: without a timeout, waits block in mpiWait and stay exact, np=3', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const options = { timeoutMs: 'Infinity' } as const;
  const jobs = [{ ...all, options }, { ...async, options }];
  const [allCalls, asyncCalls] = results(await mpirunJobs(3, { jobs }), 3, 2) as [unknown[], unknown[]];
  assertSameCalls(allCalls, 30);
  assert.deepEqual(asyncCalls, [17, 17, 17]);
});

test('mpi backend: a process not started by mpirun is a world of one', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const [allCalls, asyncCalls] = results(await singletonJobs({ jobs: [all, async] }), 1, 2) as [unknown[], unknown[]];
  assertSameCalls(allCalls, 30);
  assert.deepEqual(asyncCalls, [17]);
});
