// Program every rank runs in failures.test.ts: one rank misbehaves (throws, exits, hangs, or makes a
// mismatched call) while the others are in a collective; they must fail, never hang.
import type { Communicator } from '../../src/dist/communicator.js';

export type FailureScenario =
  | 'throw-before' | 'throw-mid' | 'exit' | 'hang' | 'mismatch-size' | 'mismatch-op' | 'mismatch-counts' | 'ok';

export interface FailureArgs {
  readonly scenario: FailureScenario;
  /** The rank that misbehaves. */
  readonly culprit: number;
}

export async function main(comm: Communicator, args: FailureArgs): Promise<string> {
  const { scenario, culprit } = args;
  const bad = comm.rank === culprit;
  const g = comm.world;
  const P = comm.worldSize;
  comm.barrier(g); // everyone is up and has made one successful call
  // The culprit misbehaves a little late, so the others are usually already waiting in the collective.
  const late = (): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  switch (scenario) {
    case 'throw-before':
      if (bad) {
        late();
        throw new Error(`boom on rank ${comm.rank}`);
      }
      comm.allReduce(new Float32Array(8), g);
      break;
    case 'throw-mid': {
      // The culprit posts its part, then dies before finishing: peers wait for its reduced chunk.
      if (bad) late();
      const h = comm.allReduceAsync(new Float32Array(8 * P), g);
      if (bad) throw new Error(`boom mid-collective on rank ${comm.rank}`);
      h.waitSync();
      break;
    }
    case 'exit':
      if (bad) {
        late();
        process.exit(7);
      }
      comm.allToAll(new Float32Array(2 * P), new Float32Array(2 * P), g);
      break;
    case 'hang':
      // Stuck outside any collective: blocks until the launcher terminates it.
      if (bad) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      comm.allGather(new Float32Array(2), new Float32Array(2 * P), g);
      break;
    case 'mismatch-size':
      comm.allReduce(new Float32Array(bad ? 5 : 4), g);
      break;
    case 'mismatch-op':
      if (bad) comm.allGather(new Float32Array(4), new Float32Array(4 * P), g);
      else comm.allReduce(new Float32Array(4), g);
      break;
    case 'mismatch-counts': {
      // Every rank sends 1 element to each peer, but the culprit expects 2 from rank 0.
      const recvCounts = Array.from({ length: P }, (_, j) => (bad && j === 0 ? 2 : 1));
      const recvN = recvCounts.reduce((a, b) => a + b, 0);
      comm.allToAllV(new Float32Array(P), new Array<number>(P).fill(1), new Float32Array(recvN), recvCounts, g);
      break;
    }
    case 'ok':
      comm.allReduce(new Float32Array(4), g);
      break;
  }
  return 'finished';
}
