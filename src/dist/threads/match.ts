// Detects mismatched calls: every rank compares the descriptor each peer posted for the same
// (group, call number) with its own call, and names both calls when they cannot work together.
import type { Descriptor } from './mailbox.js';

const REDUCE_NAMES = ['sum', 'max'];

/** A call as a person would write it, e.g. "allReduce(sum, fp32, 1024 elements)". */
export function describeCall(d: Descriptor): string {
  const counts = `[${d.counts.join(',')}]`;
  switch (d.op) {
    case 'allToAll':
      return `allToAll(${d.dtype}, ${d.n} elements)`;
    case 'allToAllV':
      return `allToAllV(${d.dtype}, send counts ${counts})`;
    case 'allGather':
      return `allGather(${d.dtype}, chunk counts ${counts})`;
    case 'reduceScatter':
      return `reduceScatter(${REDUCE_NAMES[d.aux] ?? d.aux}, ${d.dtype}, ${d.n} elements, chunk counts ${counts})`;
    case 'allReduce':
      return `allReduce(${REDUCE_NAMES[d.aux] ?? d.aux}, ${d.dtype}, ${d.n} elements)`;
    case 'broadcast':
      return `broadcast(${d.dtype}, ${d.n} elements, root ${d.aux})`;
    case 'sendRecv': {
      const dst = d.aux < 0 ? 'nothing' : `${d.n} elements to member ${d.aux}`;
      const src = d.aux2 < 0 ? 'nothing' : `from member ${d.aux2}`;
      return `sendRecv(${d.dtype}, sends ${dst}, receives ${src})`;
    }
    case 'barrier':
      return 'barrier()';
    default:
      return d.op;
  }
}

function sameCounts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Why call `theirs` (member j) cannot pair with call `mine` (member me), or null if it can.
 * recvCounts / recvN are what this rank expects to receive (all-to-all-v and sendRecv).
 */
export function mismatch(
  mine: Descriptor, me: number, theirs: Descriptor, j: number, recvCounts: readonly number[], recvN: number,
): string | null {
  if (mine.op !== theirs.op) return 'different collectives';
  // sendRecv pairs only the two ranks that exchange data, so only they must agree on the type.
  if (mine.op !== 'barrier' && mine.op !== 'sendRecv' && mine.dtype !== theirs.dtype) return 'different payload types';
  switch (mine.op) {
    case 'allToAll':
      return mine.n === theirs.n ? null : 'different buffer sizes';
    case 'allToAllV': {
      const sent = theirs.counts[me] ?? -1;
      const expected = recvCounts[j] ?? -1;
      return sent === expected ? null : `member ${j} sends ${sent} elements to member ${me}, which expects ${expected}`;
    }
    case 'allGather':
      return sameCounts(mine.counts, theirs.counts) ? null : 'different chunk counts';
    case 'reduceScatter':
    case 'allReduce':
      if (mine.aux !== theirs.aux) return 'different reduce ops';
      if (mine.n !== theirs.n) return 'different buffer sizes';
      return sameCounts(mine.counts, theirs.counts) ? null : 'different chunk counts';
    case 'broadcast':
      if (mine.aux !== theirs.aux) return 'different roots';
      return mine.n === theirs.n ? null : 'different buffer sizes';
    case 'sendRecv': {
      const sendsToMe = theirs.aux === me;
      const iReceive = mine.aux2 === j;
      if (sendsToMe && !iReceive) return `member ${j} sends to member ${me}, which receives from ${mine.aux2 < 0 ? 'nobody' : `member ${mine.aux2}`}`;
      if (!sendsToMe && iReceive) return `member ${me} receives from member ${j}, which sends to ${theirs.aux < 0 ? 'nobody' : `member ${theirs.aux}`}`;
      if (iReceive && mine.dtype !== theirs.dtype) return 'different payload types';
      if (iReceive && theirs.n !== recvN) return `member ${j} sends ${theirs.n} elements, member ${me} receives ${recvN}`;
      return null;
    }
    default:
      return null;
  }
}
