// Options of the MPI backend, their defaults and their checks.

export interface MpiOptions {
  /** How long a wait may last before CommTimeoutError, in ms (default 60 000; Infinity: plain mpiWait). */
  readonly timeoutMs?: number;
  /** Longest sleep between two polls of a request, in ms (default 1). */
  readonly pollMs?: number;
  /** How long a wait polls without sleeping first, in ms (default 2). */
  readonly spinMs?: number;
  /** Abort the whole MPI job after a failed call (default true). */
  readonly abortOnFailure?: boolean;
}

export const DEFAULT_MPI_OPTIONS: Readonly<Required<MpiOptions>> = {
  timeoutMs: 60_000, pollMs: 1, spinMs: 2, abortOnFailure: true,
};

/** Fills in defaults (undefined means default) and refuses values that would make waits misbehave. */
export function resolveMpiOptions(options: MpiOptions = {}): Required<MpiOptions> {
  const out = { ...DEFAULT_MPI_OPTIONS };
  const { timeoutMs, pollMs, spinMs, abortOnFailure } = options;
  if (timeoutMs !== undefined) {
    if (!(timeoutMs > 0)) throw new RangeError(`MPI option timeoutMs must be a positive number or Infinity, got ${timeoutMs}`);
    out.timeoutMs = timeoutMs;
  }
  if (pollMs !== undefined) {
    if (!(pollMs > 0 && Number.isFinite(pollMs))) throw new RangeError(`MPI option pollMs must be a positive number, got ${pollMs}`);
    out.pollMs = pollMs;
  }
  if (spinMs !== undefined) {
    if (!(spinMs >= 0 && Number.isFinite(spinMs))) throw new RangeError(`MPI option spinMs must be a non-negative number, got ${spinMs}`);
    out.spinMs = spinMs;
  }
  if (abortOnFailure !== undefined) {
    if (typeof abortOnFailure !== 'boolean') throw new TypeError(`MPI option abortOnFailure must be true or false, got ${String(abortOnFailure)}`);
    out.abortOnFailure = abortOnFailure;
  }
  return out;
}
