// Failure behaviour of the threads backend: one misbehaving rank stops the whole job; the others
// fail with errors naming the collective, the group and the missing ranks; nothing hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RankFailedError, launchThreads } from '../../src/dist/threads/launcher.js';
import type { FailureArgs, FailureScenario } from './failure-worker.js';

const entry = new URL('./failure-worker.js', import.meta.url);
const options = { timeoutMs: 2000, graceMs: 500 };

/** Runs the scenario on 3 ranks and returns the launcher's rejection. */
async function failing(scenario: FailureScenario, culprit: number): Promise<RankFailedError> {
  const args: FailureArgs = { scenario, culprit };
  try {
    await launchThreads(3, entry, args, options);
  } catch (e) {
    assert.ok(e instanceof RankFailedError, `expected RankFailedError, got ${String(e)}`);
    return e;
  }
  return assert.fail(`${scenario}: the job succeeded`);
}

function messageOf(err: RankFailedError, rank: number): string {
  const e = err.errors[rank];
  assert.ok(e, `rank ${rank} reported no error`);
  return `${e.name}: ${e.message}`;
}

test('failures: a healthy job resolves with every rank\'s result', { timeout: 15_000 }, async () => {
  assert.deepEqual(await launchThreads(3, entry, { scenario: 'ok', culprit: -1 }, options), ['finished', 'finished', 'finished']);
});

test('failures: a rank that throws stops the ranks waiting in a collective', { timeout: 15_000 }, async () => {
  const err = await failing('throw-before', 1);
  assert.equal(err.rank, 1);
  assert.match(err.message, /^rank 1 failed: Error: boom on rank 1$/);
  for (const r of [0, 2]) {
    const m = messageOf(err, r);
    assert.match(m, /^CommAbortedError: allReduce #2 on group world \[0,1,2\] aborted because rank 1 failed/);
    // A slow peer may not have arrived yet either; the culprit is always listed.
    assert.match(m, /ranks that never arrived: ([02], )?1(, 2)?$/);
  }
});

test('failures: a rank that throws mid-collective stops the others in phase 2', { timeout: 15_000 }, async () => {
  const err = await failing('throw-mid', 2);
  assert.equal(err.rank, 2);
  assert.match(err.message, /boom mid-collective on rank 2/);
  for (const r of [0, 1]) {
    const m = messageOf(err, r);
    // Which ranks had finished their part when the abort came is a race; usually only rank 2 had not.
    assert.match(m, /allReduce #2 on group world \[0,1,2\] aborted because rank 2 failed; /);
    assert.match(m, /ranks that (arrived but never posted their reduced chunk|never arrived): [012](, [012])*$/);
  }
});

test('failures: a rank that calls process.exit stops the job', { timeout: 15_000 }, async () => {
  const err = await failing('exit', 1);
  assert.equal(err.rank, 1);
  assert.match(err.message, /rank 1 exited with code 7 before finishing/);
  for (const r of [0, 2]) {
    assert.match(messageOf(err, r), /allToAll #2 on group world \[0,1,2\] aborted because rank 1 failed; /);
    assert.match(messageOf(err, r), /ranks that never arrived: ([02], )?1(, 2)?$/);
  }
});

test('failures: a rank that never arrives makes the others time out; it is terminated', { timeout: 15_000 }, async () => {
  const err = await failing('hang', 1);
  assert.ok(err.rank === 0 || err.rank === 2, `first failure from rank ${err.rank}`);
  assert.match(err.message, /CommTimeoutError: allGather #2 on group world \[0,1,2\] timed out after 2000 ms/);
  assert.match(err.message, /ranks that never arrived: 1$/);
  assert.match(messageOf(err, 1), /rank 1 was terminated 500 ms after rank [02] failed/);
});

test('failures: different sizes on one collective are reported naming both calls', { timeout: 15_000 }, async () => {
  const err = await failing('mismatch-size', 1);
  assert.match(err.message, /CommMismatchError: collective mismatch on group world \[0,1,2\] at call #2: /);
  assert.match(err.message, /allReduce\(sum, fp32, 4 elements\)/);
  assert.match(err.message, /allReduce\(sum, fp32, 5 elements\)/);
  assert.match(err.message, /rank 1 called/);
  assert.match(err.message, /different buffer sizes/);
});

test('failures: different collectives at the same call are reported naming both', { timeout: 15_000 }, async () => {
  const err = await failing('mismatch-op', 2);
  assert.match(err.message, /allGather\(fp32, chunk counts \[4,4,4\]\)/);
  assert.match(err.message, /allReduce\(sum, fp32, 4 elements\)/);
  assert.match(err.message, /different collectives/);
});

test('failures: alltoallv counts that disagree are reported', { timeout: 15_000 }, async () => {
  const err = await failing('mismatch-counts', 1);
  assert.equal(err.rank, 1);
  assert.match(err.message, /member 0 sends 1 elements to member 1, which expects 2/);
});

test('failures: an entry module that cannot load stops every rank at startup', { timeout: 15_000 }, async () => {
  await assert.rejects(
    launchThreads(2, new URL('./no-such-entry.js', import.meta.url), undefined, options),
    (e: unknown) => e instanceof RankFailedError && /Cannot find module|ERR_MODULE_NOT_FOUND/.test(e.message),
  );
});
