// Program every rank runs in shared-send.test.ts: the rules of sending from allocShared buffers on
// the threads backend, which peers read in place. Each check throws with what went wrong.
import type { Communicator, Group, Payload } from '../../src/dist/communicator.js';
import { makeGroup } from '../../src/dist/group.js';

export interface SharedSendArgs {
  readonly scenario: 'blocking' | 'async' | 'aliasing' | 'errors' | 'reader-stalls' | 'reader-exits';
}

function expectEqual(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

function expectThrows(what: string, f: () => void, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (!pattern.test(msg)) throw new Error(`${what}: threw "${msg}", expected ${pattern}`);
    return;
  }
  throw new Error(`${what}: did not throw`);
}

function shared(comm: Communicator, n: number): Float32Array {
  if (!comm.allocShared) throw new Error('this backend has no allocShared');
  return comm.allocShared(n, 'fp32') as Float32Array;
}

/** allToAll element i of member `from`'s send buffer, in round t. */
const val = (from: number, i: number, t: number): number => 1000 * t + 100 * from + i;

/**
 * A blocking call returns only once every peer has read the shared send buffer: each sender
 * overwrites it right after the call returns, while the last rank arrives 30 ms late; it must
 * still get the data as sent (a sender returning before its peers read would hand it -1s).
 */
function blocking(comm: Communicator): void {
  const P = comm.worldSize;
  const me = comm.rank;
  const n = 4 * P;
  const send = shared(comm, n);
  const recv = new Float32Array(n);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let t = 1; t <= 3; t++) {
    send.forEach((_, i) => (send[i] = val(me, i, t)));
    if (me === P - 1) Atomics.wait(nap, 0, 0, 30);
    comm.allToAll(send, recv, comm.world);
    send.fill(-1); // reuse at once, as a caller may after a blocking call
    expectEqual(`blocking allToAll round ${t}`, recv, Float32Array.from({ length: n }, (_, i) => val(Math.floor(i / 4), 4 * me + (i % 4), t)));
  }
  comm.freeShared?.(send);
}

/**
 * An async call is not complete, and its buffer cannot be freed, until every peer has read it.
 * Ranks 0 and 1 exchange on a pair group; rank 1 first waits in a world barrier that rank 0 enters
 * only after checking, so rank 1 cannot have read anything yet.
 */
async function asyncSend(comm: Communicator): Promise<void> {
  const me = comm.rank;
  if (me >= 2) {
    comm.barrier(comm.world);
    return;
  }
  const pair: Group = makeGroup('pair', [0, 1], me);
  const send = shared(comm, 6);
  send.forEach((_, i) => (send[i] = val(me, i, 1)));
  const recv = new Float32Array(6);
  if (me === 0) {
    const h = comm.allToAllAsync(send, recv, pair);
    if (h.test()) throw new Error('async allToAll completed before its peer called');
    expectThrows('freeShared during an async send', () => comm.freeShared?.(send), /still sends from this buffer/);
    comm.barrier(comm.world);
    await h.wait();
    if (!h.test()) throw new Error('test() is false after wait()');
  } else {
    comm.barrier(comm.world);
    comm.allToAll(send, recv, pair);
  }
  expectEqual(`async allToAll on rank ${me}`, recv, Float32Array.from({ length: 6 }, (_, i) => val(Math.floor(i / 3), 3 * me + (i % 3), 1)));
  comm.freeShared?.(send);
}

/**
 * Send and receive views of one shared buffer: disjoint ones are read in place, overlapping ones
 * (an in-place all-gather or all-to-all) must still give exact results.
 */
function aliasing(comm: Communicator): void {
  const P = comm.worldSize;
  const me = comm.rank;
  const c = 5;
  const all = (f: (j: number, k: number) => number): Float32Array => Float32Array.from({ length: P * c }, (_, i) => f(Math.floor(i / c), i % c));
  // Disjoint: send in the first half of the buffer, recv in the second.
  const buf = shared(comm, 2 * P * c);
  const send = buf.subarray(0, P * c);
  const recv = buf.subarray(P * c);
  send.set(all((j, k) => val(me, j * c + k, 2)));
  comm.allToAll(send, recv, comm.world);
  expectEqual('allToAll, send and recv disjoint in one shared buffer', recv, all((j, k) => val(j, me * c + k, 2)));
  // In-place all-gather: this rank's chunk already sits at its place in recv.
  const gathered = buf.subarray(0, P * c);
  gathered.fill(-1);
  const mine = gathered.subarray(me * c, (me + 1) * c);
  mine.forEach((_, k) => (mine[k] = val(me, k, 3)));
  comm.allGather(mine, gathered, comm.world);
  expectEqual('in-place allGather in a shared buffer', gathered, all((j, k) => val(j, k, 3)));
  // In-place all-to-all: send and recv are the same view.
  const same = buf.subarray(P * c);
  same.set(all((j, k) => val(me, j * c + k, 4)));
  comm.allToAll(same, same, comm.world);
  expectEqual('in-place allToAll in a shared buffer', same, all((j, k) => val(j, me * c + k, 4)));
  // Shifted overlap: recv starts two elements into send.
  const over = buf.subarray(2, 2 + P * c);
  const src = buf.subarray(0, P * c);
  src.set(all((j, k) => val(me, j * c + k, 5)));
  comm.allToAll(src, over, comm.world);
  expectEqual('allToAll with overlapping send and recv', over, all((j, k) => val(j, me * c + k, 5)));
  comm.freeShared?.(buf);
}

/** Bad arguments are refused with what is wrong. */
function errors(comm: Communicator): void {
  expectThrows('allocShared(-1)', () => comm.allocShared?.(-1, 'fp32'), /length must be a whole number/);
  expectThrows('allocShared(1.5)', () => comm.allocShared?.(1.5, 'fp32'), /length must be a whole number/);
  expectThrows('allocShared dtype', () => comm.allocShared?.(4, 'fp64' as 'fp32'), /dtype must be 'fp32' or 'bf16'/);
  expectThrows('freeShared of an ordinary buffer', () => comm.freeShared?.(new Float32Array(4)), /did not come from this communicator's allocShared/);
  const b = comm.allocShared?.(4, 'bf16') as Payload;
  if (!(b instanceof Uint16Array) || b.length !== 4 || b.some((x) => x !== 0)) throw new Error('allocShared bf16 is not 4 zero Uint16 elements');
  comm.freeShared?.(b);
  expectThrows('freeShared twice', () => comm.freeShared?.(b), /or was freed already/);
}

/**
 * Rank 1 posts its part of an allToAll (async, so it reads nothing yet) and then stalls or exits:
 * rank 0, which sends from a shared buffer, has its data but must keep waiting for rank 1 to read
 * its buffer, and fails (timeout or abort) naming rank 1 instead of returning or hanging.
 */
function readerFails(comm: Communicator, how: 'stalls' | 'exits'): void {
  const P = comm.worldSize;
  comm.barrier(comm.world);
  if (comm.rank === 1) {
    const h = comm.allToAllAsync(new Float32Array(2 * P), new Float32Array(2 * P), comm.world);
    if (how === 'exits') process.exit(3);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);
    h.waitSync();
    return;
  }
  comm.allToAll(shared(comm, 2 * P), new Float32Array(2 * P), comm.world);
}

export async function main(comm: Communicator, args: SharedSendArgs): Promise<string> {
  if (args.scenario === 'reader-stalls') readerFails(comm, 'stalls');
  else if (args.scenario === 'reader-exits') readerFails(comm, 'exits');
  else if (args.scenario === 'blocking') blocking(comm);
  else if (args.scenario === 'async') await asyncSend(comm);
  else if (args.scenario === 'aliasing') aliasing(comm);
  else errors(comm);
  return 'ok';
}
