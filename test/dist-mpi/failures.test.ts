// Failure behaviour of the MPI backend under mpirun (test/dist/failure-worker.ts scenarios): one
// failing rank stops the whole job with a nonzero status and a message naming it; a missing rank
// makes the others time out naming the collective and the group; mismatched allToAllV counts are
// detected. Groups must be declared before use, identically on every rank.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FailureArgs } from '../dist/failure-worker.js';
import type { GroupsResult } from './groups-worker.js';
import { assertAborted, canRun, describeRun, mpirunJobs, results, type Run } from './mpirun.js';

function failing(args: FailureArgs, timeoutMs = 10_000): Promise<Run> {
  return mpirunJobs(3, { jobs: [{ entry: 'dist/failure-worker.js', args, options: { timeoutMs } }] });
}

test('mpi failures: a rank that throws mid-collective stops the job, naming the rank', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const r = await failing({ scenario: 'throw-mid', culprit: 2 });
  assertAborted(r);
  assert.match(r.stderr, /^rank 2 failed: Error: boom mid-collective on rank 2$/m, describeRun(r));
  assert.match(r.stderr, /^rank 2: aborting the MPI job$/m, describeRun(r));
  assert.doesNotMatch(r.stdout, /^spmd /m);
});

test('mpi failures: a rank that exits early stops the job', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const r = await failing({ scenario: 'exit', culprit: 1 });
  assertAborted(r);
  assert.doesNotMatch(r.stdout, /^spmd /m);
});

test('mpi failures: a rank that never arrives makes the others time out, naming the collective and group', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const r = await failing({ scenario: 'hang', culprit: 1 }, 1000);
  assertAborted(r);
  assert.match(
    r.stderr,
    /^rank [02] failed: CommTimeoutError: allGather #2 on group world \[0,1,2\] timed out after 1000 ms; did not complete \(MPI cannot tell which ranks are missing\); the other ranks of the group: (1, 2|0, 1)$/m,
    describeRun(r),
  );
});

test('mpi failures: allToAllV counts that disagree raise CommMismatchError', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const r = await failing({ scenario: 'mismatch-counts', culprit: 1 });
  assertAborted(r);
  assert.match(
    r.stderr,
    /^rank 1 failed: CommMismatchError: collective mismatch on group world \[0,1,2\] at call #2: member 0 \(rank 0\) sends 1 elements to member 1 \(rank 1\), which expects 2$/m,
    describeRun(r),
  );
});

test('mpi groups: undeclared groups are refused, disagreeing declarations too, declared ones work', { timeout: 60_000 }, async (t) => {
  if (!canRun(t)) return;
  const [res] = results(await mpirunJobs(3, { jobs: [{ entry: 'dist-mpi/groups-worker.js' }] }), 3, 1) as [GroupsResult[]];
  res.forEach((r, rank) => {
    assert.match(r.refused, /^allGather: group pair \[\d(,\d)?\] has no MPI communicator\. MPI creates communicators collectively/);
    assert.match(r.disagreed, new RegExp(`ranks passed different group lists \\(rank ${rank} passed \\[${rank}\\]\\)`));
    assert.deepEqual(r.gathered, r.members, `rank ${rank}: members in listed order`);
  });
  assert.deepEqual(res.map((r) => r.members), [[1, 0], [1, 0], [2]]);
});
