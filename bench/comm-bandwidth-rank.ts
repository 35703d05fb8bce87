// The SPMD program of the communication-bandwidth benchmark, run by every rank on either backend
// (launchThreads, or runSpmd under mpirun): allToAll and allGather of each payload size, each
// repetition started from a barrier, timed per rank. The payload S is the rank's buffer as
// nccl-tests count it: allToAll sends and receives S bytes, allGather receives S (sends S/P).
// After each collective the ranks time its copy floor: the copies (copyPayload) a threads rank makes
// for it, on all ranks at once, with no communication (what memory bandwidth alone allows).
import type { Communicator } from '../src/dist/communicator.js';
import { copyPayload } from '../src/dist/threads/copy.js';

export type BwOp = 'allToAll' | 'allGather';

export interface BwArgs {
  /** Payload sizes in bytes, each a multiple of 4·P. */
  readonly sizes: readonly number[];
  /** Timed repetitions per size (after one untimed warm-up call). */
  readonly reps: readonly number[];
  readonly ops: readonly BwOp[];
  /**
   * Send from a buffer the communicator allocated (allocShared), which the threads backend lets
   * peers read in place: no copy into staging. Falls back to an ordinary buffer where unsupported.
   */
  readonly sharedSend?: boolean;
}

export interface BwOpResult {
  readonly op: BwOp;
  readonly bytes: number;
  /** Per repetition, when this rank left the barrier and when the call returned (ms, a clock every rank shares). */
  readonly spans: [number, number][];
  /** The same for the copy floor: the copies a threads rank makes for the call, no communication. */
  readonly floorSpans: [number, number][];
  /** Bytes to and from other ranks per call, from the communicator's accounting. */
  readonly sentPerCall: number;
  readonly receivedPerCall: number;
  /** The received data held what every peer sent (checked after the last repetition). */
  readonly correct: boolean;
}

export interface BwRankResult {
  readonly rank: number;
  readonly world: number;
  readonly results: BwOpResult[];
}

/** Milliseconds since the epoch, sub-microsecond: comparable across worker threads and processes of one machine. */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** Element i of member j's send buffer: distinct per (member, position), exact in fp32. */
function value(member: number, i: number): number {
  return member * 4_000_000 + (i % 3_999_983);
}

function checkAllToAll(recv: Float32Array, me: number, P: number): boolean {
  const block = recv.length / P;
  for (let j = 0; j < P; j++) {
    // Member j's block for me starts at me·block of its send buffer; check its first and last element.
    for (const k of [0, block - 1]) {
      if (recv[j * block + k] !== value(j, me * block + k)) return false;
    }
  }
  return true;
}

function checkAllGather(recv: Float32Array, P: number): boolean {
  const chunk = recv.length / P;
  for (let j = 0; j < P; j++) {
    for (const k of [0, chunk - 1]) if (recv[j * chunk + k] !== value(j, k)) return false;
  }
  return true;
}

export function main(comm: Communicator, args: BwArgs): BwRankResult {
  const P = comm.worldSize;
  const me = comm.rank;
  const world = comm.world;
  const maxElems = Math.max(...args.sizes) / 4;
  // One allocation at the largest size, touched once, so page faults stay out of every timing.
  const shared = args.sharedSend === true && comm.allocShared !== undefined;
  const send = shared && comm.allocShared ? (comm.allocShared(maxElems, 'fp32') as Float32Array) : new Float32Array(maxElems);
  const recv = new Float32Array(maxElems);
  const scratch = new Float32Array(maxElems); // stands in for the staging buffer in the copy floor
  for (let i = 0; i < maxElems; i++) send[i] = value(me, i);
  recv.fill(0);
  scratch.fill(0);
  const results: BwOpResult[] = [];
  args.sizes.forEach((bytes, si) => {
    const n = bytes / 4;
    if (!Number.isInteger(n / P)) throw new RangeError(`comm-bandwidth: ${bytes} bytes do not split over ${P} ranks`);
    const reps = args.reps[si] ?? 3;
    for (const op of args.ops) {
      const s = op === 'allToAll' ? send.subarray(0, n) : send.subarray(0, n / P);
      const r = recv.subarray(0, n);
      const call = (): void => (op === 'allToAll' ? comm.allToAll(s, r, world) : comm.allGather(s, r, world));
      call(); // warm-up: staging buffers grow to this size here, not in a timed call
      comm.reset();
      const spans: [number, number][] = [];
      for (let k = 0; k < reps; k++) {
        comm.barrier(world);
        const t0 = clock();
        call();
        spans.push([t0, clock()]);
      }
      const c = comm.snapshot().byOp[op];
      const correct = op === 'allToAll' ? checkAllToAll(r, me, P) : checkAllGather(r, P);
      // The copy floor: every rank at once does what a threads rank copies (in, self block, out);
      // a send buffer peers read in place needs no copy in.
      const own = shared ? 0 : op === 'allToAll' ? (n / P) * (P - 1) : n / P;
      const self = n / P;
      const out = (n / P) * (P - 1);
      const floorSpans: [number, number][] = [];
      for (let k = 0; k < reps; k++) {
        comm.barrier(world);
        const t0 = clock();
        copyPayload(scratch, send.subarray(0, own));
        copyPayload(recv, send.subarray(0, self));
        copyPayload(recv, (shared ? send : scratch).subarray(0, out), self);
        floorSpans.push([t0, clock()]);
      }
      const calls = c?.calls ?? 1;
      results.push({
        op, bytes, spans, floorSpans, correct,
        sentPerCall: (c?.bytesSent ?? 0) / calls, receivedPerCall: (c?.bytesReceived ?? 0) / calls,
      });
    }
  });
  if (shared) comm.freeShared?.(send);
  return { rank: me, world: P, results };
}
