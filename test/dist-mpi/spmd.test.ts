// runSpmd and detectMpiLaunch without mpirun: the threads path returns every rank's result, and
// bad options are refused with messages that say what to do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectMpiLaunch, runSpmd } from '../../src/dist/spmd.js';
import type { AccountingResult } from '../dist/accounting-worker.js';

const accounting = new URL('../dist/accounting-worker.js', import.meta.url);

test('detectMpiLaunch: true when mpirun (Open MPI or PMIx) started the process', () => {
  assert.equal(detectMpiLaunch({}), false);
  assert.equal(detectMpiLaunch({ OMPI_COMM_WORLD_SIZE: '4' }), true);
  assert.equal(detectMpiLaunch({ PMIX_RANK: '0' }), true);
});

test('runSpmd threads: every rank runs the entry and its results come back in rank order', { timeout: 30_000 }, async () => {
  const res = await runSpmd<AccountingResult>({ backend: 'threads', world: 3 }, accounting);
  assert.equal(res.length, 3);
  assert.deepEqual(res.map((r) => r.totalCalls), [11, 11, 11]);
});

test('runSpmd: refuses a threads job without a world size and an unknown backend', async () => {
  await assert.rejects(runSpmd({ backend: 'threads' }, accounting), /threads backend needs opts\.world/);
  // @ts-expect-error: not a backend
  await assert.rejects(runSpmd({ backend: 'gloo', world: 2 }, accounting), /backend 'gloo' is not 'threads', 'mpi' or 'auto'/);
});

test('runSpmd mpi: a world size other than the job\'s is refused before MPI starts', async (t) => {
  if (detectMpiLaunch()) return t.skip('this test process was itself started by mpirun');
  await assert.rejects(
    runSpmd({ backend: 'mpi', world: 2 }, accounting),
    /opts\.world is 2 but this MPI job has 1 rank \(started without mpirun\); start it with mpirun -np 2|mpi backend is unavailable: .*apt-get install openmpi-bin libopenmpi-dev/,
  );
});
