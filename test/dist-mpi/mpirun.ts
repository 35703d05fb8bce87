// Helpers of the dist-mpi tests: why MPI tests cannot run here, and running spmd-program.js under
// mpirun with a hard timeout (so a hung job fails the test instead of hanging it).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { MPI_INSTALL_HINT, mpiBuildStatus } from '../../src/kernels/native/mpi-binding.js';
import type { SpmdProgram } from './spmd-program.js';

const PROGRAM = new URL('./spmd-program.js', import.meta.url).pathname;
export const TIMEOUT_MS = 30_000;

/** Why the MPI tests cannot run here (naming what to install), or null when they can. */
function skipReason(): string | null {
  const probe = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (probe.error) return `mpirun not found. ${MPI_INSTALL_HINT}`;
  const status = mpiBuildStatus();
  return status.available ? null : status.reason;
}
const reason = skipReason();

/** Skips the test (with what to install) when MPI is absent; true when it can run. */
export function canRun(t: TestContext): boolean {
  if (reason !== null) t.skip(reason);
  return reason === null;
}

export interface Run {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs a command; after timeoutMs it gets SIGTERM (mpirun then ends its ranks), 3 s later SIGKILL. */
export function run(cmd: string, args: readonly string[], timeoutMs = TIMEOUT_MS): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const term = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, timeoutMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 3000);
    child.on('close', (status, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ status, signal, stdout, stderr, timedOut });
    });
  });
}

/** Runs the jobs on np MPI ranks; `mca` adds options such as ['--mca', 'btl', 'tcp,self']. */
export function mpirunJobs(np: number, program: SpmdProgram, mca: readonly string[] = []): Promise<Run> {
  const args = ['--allow-run-as-root', '--oversubscribe', ...mca, '-np', String(np)];
  return run('mpirun', [...args, process.execPath, PROGRAM, JSON.stringify(program)]);
}

/** The same jobs in this node without mpirun: MPI starts as a world of one. */
export function singletonJobs(program: SpmdProgram): Promise<Run> {
  return run(process.execPath, [PROGRAM, JSON.stringify(program)]);
}

export function describeRun(r: Run): string {
  return `\nexit ${r.status ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** Every rank's result of every job, [job][rank]; fails unless the job exited cleanly with all lines. */
export function results(r: Run, np: number, jobs: number): unknown[][] {
  assert.equal(r.timedOut, false, `the job timed out${describeRun(r)}`);
  assert.equal(r.status, 0, `the job failed${describeRun(r)}`);
  const out = Array.from({ length: jobs }, () => new Array<unknown>(np).fill(undefined));
  let lines = 0;
  for (const m of r.stdout.matchAll(/^spmd (\d+) rank=(\d+) (.*)$/gm)) {
    const row = out[Number(m[1])];
    assert.ok(row && Number(m[2]) < np, `unexpected line ${m[0]}`);
    row[Number(m[2])] = JSON.parse(m[3] as string) as unknown;
    lines++;
  }
  assert.equal(lines, np * jobs, `expected ${np * jobs} result lines${describeRun(r)}`);
  return out;
}

/** Asserts the job failed on its own (nonzero status, not killed by the test's timeout). */
export function assertAborted(r: Run): void {
  assert.equal(r.timedOut, false, `the job hung instead of stopping${describeRun(r)}`);
  assert.notEqual(r.status, 0, `the job succeeded${describeRun(r)}`);
}
