// Program every rank runs in accounting.test.ts: one call of each collective with the counters reset
// before it, returning what the communicator recorded so the test can compare it with the formulas.
import type { Communicator } from '../../src/dist/communicator.js';

export interface OpRecord {
  readonly label: string;
  readonly calls: number;
  readonly sent: number;
  readonly received: number;
  /** Bytes recorded under the group's name (must equal the per-op numbers). */
  readonly groupSent: number;
  readonly groupReceived: number;
}

export interface AccountingResult {
  readonly records: OpRecord[];
  /** Totals over every call, recorded without resets in a second pass. */
  readonly totalSent: number;
  readonly totalReceived: number;
  readonly totalCalls: number;
}

export async function main(comm: Communicator): Promise<AccountingResult> {
  const P = comm.worldSize;
  const me = comm.rank;
  const g = comm.world;
  const calls: [string, () => void | Promise<void>][] = [
    ['allToAll', () => comm.allToAll(new Float32Array(4 * P), new Float32Array(4 * P), g)],
    ['allToAllV', () => {
      const sc = Array.from({ length: P }, (_, j) => (me + 2 * j) % 4);
      const rc = Array.from({ length: P }, (_, j) => (j + 2 * me) % 4);
      comm.allToAllV(new Float32Array(sc.reduce((a, b) => a + b, 0)), sc, new Float32Array(rc.reduce((a, b) => a + b, 0)), rc, g);
    }],
    ['allGather', () => comm.allGather(new Uint16Array(5), new Uint16Array(5 * P), g)],
    ['allGatherV', () => {
      const counts = Array.from({ length: P }, (_, j) => j + 1);
      comm.allGather(new Float32Array(me + 1), new Float32Array(counts.reduce((a, b) => a + b, 0)), g, counts);
    }],
    ['reduceScatter', () => comm.reduceScatter(new Float32Array(3 * P), new Float32Array(3), g)],
    ['allReduce', () => comm.allReduce(new Float32Array(2 * P + 1), g)],
    ['allReduceBf16', () => comm.allReduce(new Uint16Array(4 * P), g, 'max')],
    ['broadcast', () => comm.broadcast(new Float32Array(7), 0, g)],
    ['sendRecv', () => comm.sendRecv(new Float32Array(6), g.next, new Float32Array(6), g.prev, g)],
    ['barrier', () => comm.barrier(g)],
    ['allToAllAsync', () => comm.allToAllAsync(new Uint16Array(2 * P), new Uint16Array(2 * P), g).wait()],
  ];
  const records: OpRecord[] = [];
  for (const [label, call] of calls) {
    comm.reset();
    await call();
    const s = comm.snapshot();
    const ops = Object.values(s.byOp);
    if (ops.length !== 1) throw new Error(`${label}: recorded ${ops.length} collectives, expected 1`);
    const op = ops[0];
    const grp = s.byGroup['world'];
    if (!op || !grp) throw new Error(`${label}: nothing recorded`);
    records.push({
      label, calls: op.calls, sent: op.bytesSent, received: op.bytesReceived,
      groupSent: grp.bytesSent, groupReceived: grp.bytesReceived,
    });
  }
  comm.reset();
  for (const [, call] of calls) await call();
  const total = comm.snapshot().total;
  return { records, totalSent: total.bytesSent, totalReceived: total.bytesReceived, totalCalls: total.calls };
}
