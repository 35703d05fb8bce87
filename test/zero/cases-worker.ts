// Runs several training cases of one world size in a single launch of worker threads, so the ZeRO
// tests pay for starting threads once per world size: every rank trains each case in turn with
// test/parallel/train-worker.ts.
import type { Communicator } from '../../src/dist/communicator.js';
import type { ParallelCase } from '../parallel/fixtures.js';
import { main as trainCase, type TrainRankResult } from '../parallel/train-worker.js';

export function main(comm: Communicator, cases: readonly ParallelCase[]): TrainRankResult[] {
  return cases.map((k) => {
    if (k.sp * k.dp !== comm.worldSize) throw new Error(`case ${k.label}: dp x sp = ${k.dp * k.sp}, but the launch has ${comm.worldSize} ranks`);
    return trainCase(comm, k);
  });
}
