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
