// Errors the user can fix (bad config, bad data, bad checkpoint) and the error that stops a
// diverged run. The CLI prints a UserError as one line with no stack and exits with code 2.

/** A problem with the user's input: the message alone says what is wrong and what is allowed. */
export class UserError extends Error {
  override readonly name: string = 'UserError';
}

/** The config is invalid; the message names the key path. */
export class ConfigError extends UserError {
  override readonly name = 'ConfigError';
}

/** The corpus or token file is missing, empty, corrupt or too short. */
export class DataError extends UserError {
  override readonly name = 'DataError';
}

/** A checkpoint is corrupt or does not match the run that tries to load it. */
export class CheckpointError extends UserError {
  override readonly name = 'CheckpointError';
}

/** The loss (or gradient norm) became NaN or Inf: the run stops and the last checkpoint stays. */
export class NonFiniteLossError extends Error {
  override readonly name = 'NonFiniteLossError';
  constructor(
    readonly step: number,
    readonly what: string,
    readonly value: number,
  ) {
    super(`${what} is ${value} at step ${step}; the run stopped (the last good checkpoint is kept)`);
  }
}

/**
 * The error a failed rank of a parallel run reported, rebuilt in the main thread as the class it
 * had there, so user errors and divergence end the command the same way as in a one-worker run.
 */
export function errorFromRank(e: { name: string; message: string; stack?: string }): Error {
  const classes: Record<string, new (message: string) => UserError> = { UserError, ConfigError, DataError, CheckpointError };
  const C = classes[e.name];
  if (C) return new C(e.message);
  const nf = /^(.*) is (\S+) at step (\d+);/.exec(e.message);
  if (e.name === 'NonFiniteLossError' && nf) return new NonFiniteLossError(Number(nf[3]), nf[1] ?? 'loss', Number(nf[2]));
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}
