// How the CLI ends on an error: user errors (config, data, checkpoint) print one line and exit
// 2, a diverged run exits 3, anything else is a bug and keeps its stack. A process of an mpirun
// job says which rank it is, since every rank prints its own errors.
import { NonFiniteLossError, UserError } from '../train/errors.js';
import { mpiLaunch } from '../train/parallel-run.js';

export const EXIT_USAGE = 2;
export const EXIT_DIVERGED = 3;

/** Runs a command body and turns known errors into a message and an exit code. */
export async function runCommand(body: () => void | Promise<void>): Promise<void> {
  const job = mpiLaunch();
  const prefix = job.size === 1 ? 'ulysses: ' : `ulysses: rank ${job.rank}: `;
  try {
    await body();
  } catch (err: unknown) {
    if (err instanceof UserError) {
      process.stderr.write(`${prefix}${err.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (err instanceof NonFiniteLossError) {
      process.stderr.write(`${prefix}${err.message}\n`);
      process.exitCode = EXIT_DIVERGED;
    } else {
      throw err;
    }
  }
}
