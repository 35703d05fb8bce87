// How the CLI ends on an error: user errors (config, data, checkpoint) print one line and exit
// 2, a diverged run exits 3, anything else is a bug and keeps its stack.
import { NonFiniteLossError, UserError } from '../train/errors.js';

export const EXIT_USAGE = 2;
export const EXIT_DIVERGED = 3;

/** Runs a command body and turns known errors into a message and an exit code. */
export async function runCommand(body: () => void | Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err: unknown) {
    if (err instanceof UserError) {
      process.stderr.write(`ulysses: ${err.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (err instanceof NonFiniteLossError) {
      process.stderr.write(`ulysses: ${err.message}\n`);
      process.exitCode = EXIT_DIVERGED;
    } else {
      throw err;
    }
  }
}
