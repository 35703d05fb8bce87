// The errors a started MPI call raises, worded like the threads backend's: collective, call number,
// group, and the ranks involved as far as MPI can tell.
import { CommMismatchError, CommTimeoutError } from '../errors.js';
import type { Group } from '../group.js';
import type { CollectiveCall } from '../plan.js';

/** What names a call in errors: the planned call, its group, how errors print it, its number. */
export interface CallLabel {
  readonly call: CollectiveCall;
  readonly group: Group;
  readonly label: string;
  readonly seq: number;
}

/** A wait that outlived timeoutMs; MPI cannot say who is missing, so list who could be. */
export function timeoutError(op: CallLabel, rank: number, timeoutMs: number): CommTimeoutError {
  const { call, group } = op;
  if (call.name === 'sendRecv') {
    const peers = [call.peer, call.src].filter((j) => j >= 0).map((j) => group.ranks[j] as number);
    const missing = [...new Set(peers)].filter((r) => r !== rank).sort((a, b) => a - b);
    return new CommTimeoutError(call.name, op.label, op.seq, missing, timeoutMs, 'did not complete; the peers of this exchange');
  }
  const others = group.ranks.filter((r) => r !== rank).sort((a, b) => a - b);
  return new CommTimeoutError(
    call.name, op.label, op.seq, others, timeoutMs,
    'did not complete (MPI cannot tell which ranks are missing); the other ranks of the group',
  );
}

/** An MPI error of a started call; a truncated message means members passed different sizes. */
export function mpiCallError(op: CallLabel, e: unknown): Error {
  const text = e instanceof Error ? e.message : String(e);
  if (/truncat/i.test(text)) {
    return new CommMismatchError(op.call.name, op.label, op.seq, `a member sent more elements than this rank expects (${text})`);
  }
  return new Error(`${op.call.name} #${op.seq} on group ${op.label} failed: ${text} (did the members pass different sizes?)`);
}
