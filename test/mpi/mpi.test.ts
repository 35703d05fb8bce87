// Runs the MPI test programs under mpirun (np 1 to 4, shared memory and TCP), checks that one
// failing rank ends the whole job, and that the addon loads without mpirun and in worker threads.
// Skipped, with what to install, when mpirun or the addon's MPI part is missing.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { test } from 'node:test';
import { mpiBuildStatus } from '../../src/kernels/native/mpi-binding.js';
import { TIMEOUT_MS, canRun, run, type Run } from '../dist-mpi/mpirun.js';

const here = dirname(fileURLToPath(import.meta.url));

function mpirun(np: number, program: string, mca: string[] = []): Promise<Run> {
  const args = ['--allow-run-as-root', '--oversubscribe', ...mca, '-np', String(np)];
  return run('mpirun', [...args, process.execPath, join(here, `${program}.js`)]);
}

/** Every rank printed its ok line and the job exited cleanly. */
function assertAllRanksOk(r: Run, np: number, program: string): void {
  const detail = `\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.timedOut, false, `${program} timed out after ${TIMEOUT_MS} ms${detail}`);
  assert.equal(r.status, 0, `${program} exited with ${r.status ?? r.signal}${detail}`);
  const line = new RegExp(`^${program}: ok rank=(\\d+) size=${np} threadLevel=multiple checks=\\d+$`, 'gm');
  const ranks = [...r.stdout.matchAll(line)]
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  assert.deepEqual(ranks, Array.from({ length: np }, (_, i) => i), `not every rank reported ok${detail}`);
}

for (const np of [1, 2, 3, 4]) {
  test(`mpi: every export, np=${np}, uneven counts and bf16`, async (t) => {
    if (!canRun(t)) return;
    assertAllRanksOk(await mpirun(np, 'collectives'), np, 'collectives');
  });
}

test('mpi: every export over TCP (--mca btl tcp,self), np=3', async (t) => {
  if (!canRun(t)) return;
  assertAllRanksOk(await mpirun(3, 'collectives', ['--mca', 'btl', 'tcp,self']), 3, 'collectives');
});

test('mpi: a process not started by mpirun runs as a single rank', async (t) => {
  if (!canRun(t)) return;
  assertAllRanksOk(await run(process.execPath, [join(here, 'collectives.js')]), 1, 'collectives');
});

test('mpi: one rank throwing aborts the whole job with a nonzero status', async (t) => {
  if (!canRun(t)) return;
  const r = await mpirun(3, 'abort');
  assert.equal(r.timedOut, false, 'the job hung instead of aborting');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /abort: rank 1 failed: Error: deliberate failure on rank 1/);
  assert.doesNotMatch(r.stdout, /abort: ok/);
});

test('mpi: the addon loads in a worker thread without starting MPI', async (t) => {
  const status = mpiBuildStatus();
  if (!status.available) return t.skip(status.reason);
  const url = new URL('../../src/kernels/native/mpi-binding.js', import.meta.url).href;
  const code =
    `const { parentPort } = require('node:worker_threads');` +
    `import(${JSON.stringify(url)}).then((m) => { const mpi = m.loadMpiBinding();` +
    ` parentPort.postMessage([mpi.mpiAvailable, mpi.mpiInitialized()]); });`;
  const result = await new Promise<unknown>((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', (m: unknown) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
  assert.deepEqual(result, [true, false]);
});
