// Per-rank communication accounting: bytes sent, bytes received and time spent, by collective and by
// group. Bytes are the logical volume a ring / pairwise algorithm moves between distinct ranks,
// so every backend reports the same numbers (the formulas below), and self-copies count zero:
//   allToAll(V)    sent = elements for other members, received = elements from other members
//   allGather      sent = (P-1) * own chunk,          received = total - own chunk
//   reduceScatter  sent = input - own chunk,           received = (P-1) * own chunk
//   allReduce      reduce-scatter then all-gather over evenCounts(n, P): n - c + (P-1) * c each way,
//                  i.e. 2 (P-1)/P n when P divides n
//   broadcast      root sends (P-1) n, every other member receives n
//   sendRecv       the elements sent to / received from another rank
//   barrier        0
import type { CollectiveName } from './communicator.js';

export interface ByteCount {
  readonly sent: number;
  readonly received: number;
}

export interface CommCounter {
  calls: number;
  bytesSent: number;
  bytesReceived: number;
  /** Milliseconds this rank spent inside communicator calls (start plus waiting). */
  timeMs: number;
}

export interface CommSnapshot {
  readonly total: CommCounter;
  readonly byOp: Readonly<Partial<Record<CollectiveName, CommCounter>>>;
  /** Keyed by group name ('sp', 'dp', ...). */
  readonly byGroup: Readonly<Record<string, CommCounter>>;
}

function emptyCounter(): CommCounter {
  return { calls: 0, bytesSent: 0, bytesReceived: 0, timeMs: 0 };
}

function add(c: CommCounter, bytes: ByteCount, ms: number): void {
  c.calls += 1;
  c.bytesSent += bytes.sent;
  c.bytesReceived += bytes.received;
  c.timeMs += ms;
}

export class CommStats {
  #total = emptyCounter();
  #byOp = new Map<CollectiveName, CommCounter>();
  #byGroup = new Map<string, CommCounter>();

  record(op: CollectiveName, group: string, bytes: ByteCount, ms: number): void {
    add(this.#total, bytes, ms);
    let o = this.#byOp.get(op);
    if (!o) this.#byOp.set(op, (o = emptyCounter()));
    add(o, bytes, ms);
    let g = this.#byGroup.get(group);
    if (!g) this.#byGroup.set(group, (g = emptyCounter()));
    add(g, bytes, ms);
  }

  /** A copy of the counters, safe to keep across reset(). */
  snapshot(): CommSnapshot {
    const byOp: Partial<Record<CollectiveName, CommCounter>> = {};
    for (const [k, v] of this.#byOp) byOp[k] = { ...v };
    const byGroup: Record<string, CommCounter> = {};
    for (const [k, v] of this.#byGroup) byGroup[k] = { ...v };
    return { total: { ...this.#total }, byOp, byGroup };
  }

  reset(): void {
    this.#total = emptyCounter();
    this.#byOp.clear();
    this.#byGroup.clear();
  }
}

function othersSum(counts: readonly number[], me: number): number {
  let s = 0;
  counts.forEach((c, j) => {
    if (j !== me) s += c;
  });
  return s;
}

/** The volume formulas, in bytes, given element counts and bytes per element. */
export const commBytes = {
  allToAllV(sendCounts: readonly number[], recvCounts: readonly number[], me: number, bpe: number): ByteCount {
    return { sent: othersSum(sendCounts, me) * bpe, received: othersSum(recvCounts, me) * bpe };
  },
  allGather(counts: readonly number[], me: number, bpe: number): ByteCount {
    const own = counts[me] ?? 0;
    return { sent: (counts.length - 1) * own * bpe, received: othersSum(counts, me) * bpe };
  },
  reduceScatter(counts: readonly number[], me: number, bpe: number): ByteCount {
    const own = counts[me] ?? 0;
    return { sent: othersSum(counts, me) * bpe, received: (counts.length - 1) * own * bpe };
  },
  /** chunks = evenCounts(n, P): the reduce-scatter chunk each member owns. */
  allReduce(chunks: readonly number[], me: number, bpe: number): ByteCount {
    const rs = commBytes.reduceScatter(chunks, me, bpe);
    const ag = commBytes.allGather(chunks, me, bpe);
    return { sent: rs.sent + ag.sent, received: rs.received + ag.received };
  },
  broadcast(n: number, size: number, me: number, root: number, bpe: number): ByteCount {
    return me === root ? { sent: (size - 1) * n * bpe, received: 0 } : { sent: 0, received: n * bpe };
  },
  /** sendN / recvN: elements exchanged with another rank (0 when skipped or self). */
  sendRecv(sendN: number, recvN: number, bpe: number): ByteCount {
    return { sent: sendN * bpe, received: recvN * bpe };
  },
  barrier(): ByteCount {
    return { sent: 0, received: 0 };
  },
};
