// Sending from allocShared buffers on the threads backend, which peers read in place (no copy into
// staging): the whole collective suite with shared send buffers, blocking and async completion
// rules, send and recv views of one shared buffer, and bad arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RankFailedError, launchThreads } from '../../src/dist/threads/launcher.js';
import type { CollectivesArgs } from './collectives-worker.js';
import type { SharedSendArgs } from './shared-send-worker.js';

const suite = new URL('./collectives-worker.js', import.meta.url);
const entry = new URL('./shared-send-worker.js', import.meta.url);

for (const P of [1, 2, 3, 4, 8]) {
  test(`threads: every collective is exact with shared send buffers on P=${P}`, { timeout: 60_000 }, async () => {
    const args: CollectivesArgs = { scenario: 'all', sharedSend: true };
    const calls = await launchThreads<number>(P, suite, args, { initialStagingBytes: 4096 });
    assert.ok(calls.every((c) => c === calls[0] && c > 30), `calls per rank: ${calls.join(', ')}`);
  });
}

test('threads: async collectives with shared send buffers overlap and complete out of order on P=3', { timeout: 60_000 }, async () => {
  const args: CollectivesArgs = { scenario: 'async', sharedSend: true };
  assert.deepEqual(await launchThreads<number>(3, suite, args), [17, 17, 17]);
});

for (const P of [2, 4]) {
  test(`threads: a blocking send from a shared buffer returns only after every peer read it (P=${P})`, { timeout: 60_000 }, async () => {
    const args: SharedSendArgs = { scenario: 'blocking' };
    assert.deepEqual(await launchThreads<string>(P, entry, args), new Array<string>(P).fill('ok'));
  });
}

test('threads: an async shared send completes, and its buffer can be freed, only after the peer read it', { timeout: 60_000 }, async () => {
  const args: SharedSendArgs = { scenario: 'async' };
  assert.deepEqual(await launchThreads<string>(3, entry, args), ['ok', 'ok', 'ok']);
});

for (const P of [1, 3]) {
  test(`threads: send and recv views of one shared buffer, disjoint or overlapping, stay exact (P=${P})`, { timeout: 60_000 }, async () => {
    const args: SharedSendArgs = { scenario: 'aliasing' };
    assert.deepEqual(await launchThreads<string>(P, entry, args), new Array<string>(P).fill('ok'));
  });
}

test('threads: allocShared and freeShared refuse bad arguments, naming what is allowed', { timeout: 60_000 }, async () => {
  const args: SharedSendArgs = { scenario: 'errors' };
  assert.deepEqual(await launchThreads<string>(2, entry, args), ['ok', 'ok']);
});

test('threads: a sender whose shared buffer a peer never reads times out naming that peer', { timeout: 15_000 }, async () => {
  const args: SharedSendArgs = { scenario: 'reader-stalls' };
  const err = await launchThreads(2, entry, args, { timeoutMs: 1000, graceMs: 500 }).then(
    () => assert.fail('the job succeeded'), (e: unknown) => e,
  );
  assert.ok(err instanceof RankFailedError, String(err));
  assert.equal(err.rank, 0);
  assert.match(err.message, /CommTimeoutError: allToAll #2 on group world \[0,1\] timed out after 1000 ms; /);
  assert.match(err.message, /ranks that arrived but never finished reading this rank's send buffer: 1$/);
});

test('threads: a sender whose shared buffer a peer would read stops when that peer exits', { timeout: 15_000 }, async () => {
  const args: SharedSendArgs = { scenario: 'reader-exits' };
  const err = await launchThreads(2, entry, args, { timeoutMs: 5000, graceMs: 500 }).then(
    () => assert.fail('the job succeeded'), (e: unknown) => e,
  );
  assert.ok(err instanceof RankFailedError, String(err));
  assert.equal(err.rank, 1);
  assert.match(err.message, /rank 1 exited with code 3 before finishing/);
  const m = err.errors[0];
  assert.ok(m, 'rank 0 reported no error');
  // Whether rank 0 saw rank 1's post before the abort is a race; either way rank 1 is named.
  assert.match(m.message, /allToAll #2 on group world \[0,1\] aborted because rank 1 failed; /);
  assert.match(m.message, /ranks that (arrived but never finished reading this rank's send buffer|never arrived): 1$/);
});
