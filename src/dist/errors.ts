// Errors a collective raises when it cannot complete. Messages name the collective, the group and
// the ranks involved, because they usually travel to the launcher as plain text.
import type { CollectiveName } from './communicator.js';

export class CommError extends Error {
  constructor(
    message: string,
    /** The collective that failed. */
    readonly op: CollectiveName,
    /** The group, as describeGroup() prints it. */
    readonly group: string,
    /** Global ranks that never arrived (or never finished their part). */
    readonly missing: readonly number[],
  ) {
    super(message);
    this.name = 'CommError';
  }
}

/** Peers did not arrive within the communicator's timeout. `who` says what the listed ranks failed to do. */
export class CommTimeoutError extends CommError {
  constructor(op: CollectiveName, group: string, seq: number, missing: readonly number[], timeoutMs: number, who: string) {
    super(`${op} #${seq} on group ${group} timed out after ${timeoutMs} ms; ${who}: ${missing.join(', ') || 'none'}`, op, group, missing);
    this.name = 'CommTimeoutError';
  }
}

/** Another rank failed (threw or exited), so the job stops. */
export class CommAbortedError extends CommError {
  constructor(op: CollectiveName, group: string, seq: number, missing: readonly number[], failedRank: number, who: string) {
    super(
      `${op} #${seq} on group ${group} aborted because rank ${failedRank} failed; ${who}: ${missing.join(', ') || 'none'}`,
      op, group, missing,
    );
    this.name = 'CommAbortedError';
  }
}

/** Ranks called different collectives, or the same one with incompatible sizes. */
export class CommMismatchError extends CommError {
  constructor(op: CollectiveName, group: string, seq: number, detail: string) {
    super(`collective mismatch on group ${group} at call #${seq}: ${detail}`, op, group, []);
    this.name = 'CommMismatchError';
  }
}
