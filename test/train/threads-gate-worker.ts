// Program every rank runs in threads-placement.test.ts: rounds of "compute" (a busy loop while
// counting how many ranks are inside it at once, in shared memory) and all-to-alls through a
// communicator gated by core tokens. Returns the most ranks seen computing at once and the data.
import type { Communicator } from '../../src/dist/communicator.js';
import { CoreGate, gatedCommunicator } from '../../src/train/core-gate.js';

export interface GateArgs {
  readonly gate: SharedArrayBuffer;
  /** [inside, most]: ranks computing now, and the most ever seen. */
  readonly counter: SharedArrayBuffer;
  readonly rounds: number;
}

export interface GateResult {
  readonly most: number;
  /** What each round's all-to-all brought from every rank (rank * 100 + round). */
  readonly received: number[];
}

function compute(counter: Int32Array): void {
  const now = Atomics.add(counter, 0, 1) + 1;
  for (let seen = Atomics.load(counter, 1); now > seen; seen = Atomics.load(counter, 1)) {
    if (Atomics.compareExchange(counter, 1, seen, now) === seen) break;
  }
  const until = Date.now() + 3;
  while (Date.now() < until) {
    // busy: a rank holding a core
  }
  Atomics.sub(counter, 0, 1);
}

export function main(raw: Communicator, args: GateArgs): GateResult {
  const gate = new CoreGate(args.gate);
  const counter = new Int32Array(args.counter);
  gate.acquire();
  try {
    const comm = gatedCommunicator(raw, gate);
    const P = comm.worldSize;
    const received: number[] = [];
    for (let r = 0; r < args.rounds; r++) {
      compute(counter);
      const send = new Float32Array(P).fill(comm.rank * 100 + r);
      const recv = new Float32Array(P);
      // Half the rounds blocking, half async: both forms hand the token over while they wait.
      if (r % 2 === 0) comm.allToAll(send, recv, comm.world);
      else comm.allToAllAsync(send, recv, comm.world).waitSync();
      received.push(...recv);
    }
    comm.barrier(comm.world);
    if (!gate.holding) throw new Error('the rank lost its token');
    return { most: Atomics.load(counter, 1), received };
  } finally {
    gate.release();
  }
}
