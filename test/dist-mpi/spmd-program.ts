// The program test/dist-mpi runs under mpirun: every rank runs a list of SPMD jobs in turn through
// runSpmd (mpi backend) and prints one line per job, `spmd <job> rank=<r> <json result>`.
// argv[2] is a JSON SpmdProgram; entries are paths relative to dist/test.
import type { SpmdOptions } from '../../src/dist/spmd.js';
import { runSpmd } from '../../src/dist/spmd.js';

/** Options a job may set; JSON has no Infinity, so the timeout may say 'Infinity'. */
export type JobOptions = Omit<SpmdOptions, 'backend' | 'finalize' | 'grid' | 'groups' | 'timeoutMs'> & {
  readonly timeoutMs?: number | 'Infinity';
};

export interface SpmdJob {
  readonly entry: string;
  readonly args?: unknown;
  readonly options?: JobOptions;
}

export interface SpmdProgram {
  readonly jobs: readonly SpmdJob[];
}

const program = JSON.parse(process.argv[2] ?? '{"jobs":[]}') as SpmdProgram;
const rank = process.env['OMPI_COMM_WORLD_RANK'] ?? '0';
for (const [i, job] of program.jobs.entries()) {
  const timeoutMs = job.options?.timeoutMs === 'Infinity' ? Infinity : job.options?.timeoutMs;
  const options: SpmdOptions = { ...job.options, timeoutMs, backend: 'mpi', finalize: i === program.jobs.length - 1 };
  const [result] = await runSpmd(options, new URL(`../${job.entry}`, import.meta.url), job.args);
  process.stdout.write(`spmd ${i} rank=${rank} ${JSON.stringify(result)}\n`);
}
