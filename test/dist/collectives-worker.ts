// Program every rank runs in collectives.test.ts (threads) and test/dist-mpi (MPI): each collective
// on the world group and on grid subgroups, fp32 and bf16, equal and uneven sizes, checked exactly
// inside the rank. Values are small integers so fp32 sums are exact in any order; bf16 sums are
// compared with an fp32 sum rounded once.
import type { Communicator, Group, Payload } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups, type RankGrid } from '../../src/dist/grid.js';
import { gridGroupLists } from '../../src/dist/mpi/comm-registry.js';
import { bf16ToF32, f32ToBf16 } from '../../src/tensor/bf16.js';

type Dtype = 'fp32' | 'bf16';

export interface CollectivesArgs {
  readonly scenario: 'all' | 'async';
  /**
   * Send from buffers of comm.allocShared (at an odd offset inside them), which the threads
   * backend lets peers read in place; backends without allocShared use ordinary buffers.
   */
  readonly sharedSend?: boolean;
}

/** Set for one run of main: where send buffers come from, and the shared ones to give back. */
let sharedComm: Communicator | null = null;
const sharedBuffers: Payload[] = [];

/** Distinct small integer for (sender, receiver, element), exact in fp32. */
function code(from: number, to: number, k: number): number {
  return 1000 * from + 10 * to + k + 1;
}

/** bf16 payloads carry arbitrary bit patterns: copies must be bit-exact. */
function bits(x: number): number {
  return Math.imul(x, 2654435761) >>> 16;
}

function make(dtype: Dtype, n: number, f: (i: number) => number): Payload {
  if (dtype === 'fp32') return Float32Array.from({ length: n }, (_, i) => f(i));
  return Uint16Array.from({ length: n }, (_, i) => bits(f(i)));
}

/** A send buffer holding `data`: from allocShared when the run asks for it, else `data` itself. */
function sendable(data: Payload): Payload {
  if (!sharedComm?.allocShared) return data;
  const pad = 3; // a view that does not start at the buffer's first element
  const whole = sharedComm.allocShared(data.length + pad + 1, data instanceof Float32Array ? 'fp32' : 'bf16');
  sharedBuffers.push(whole);
  const view = whole.subarray(pad, pad + data.length);
  view.set(data);
  return view;
}

/** Gives back the shared send buffers of finished calls. */
function freeSendables(comm: Communicator): void {
  for (const b of sharedBuffers.splice(0)) comm.freeShared?.(b);
}

function expectArray(what: string, actual: Payload, expected: Payload): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Expected all-to-all(v) result: member j's block for me, element k = code(j, me, k). */
function checkAllToAll(comm: Communicator, g: Group, dtype: Dtype, counts: (from: number, to: number) => number): void {
  const P = g.ranks.length;
  const me = g.index;
  const sendCounts = Array.from({ length: P }, (_, j) => counts(me, j));
  const recvCounts = Array.from({ length: P }, (_, j) => counts(j, me));
  const sendSeq = sendCounts.flatMap((c, j) => Array.from({ length: c }, (_, k) => code(me, j, k)));
  const recvSeq = recvCounts.flatMap((c, j) => Array.from({ length: c }, (_, k) => code(j, me, k)));
  const send = sendable(make(dtype, sendSeq.length, (i) => sendSeq[i] as number));
  const recv = make(dtype, recvSeq.length, () => -7);
  const uniform = sendCounts.every((c) => c === sendCounts[0]) && recvCounts.every((c) => c === sendCounts[0]);
  if (uniform) comm.allToAll(send, recv, g);
  else comm.allToAllV(send, sendCounts, recv, recvCounts, g);
  expectArray(`${uniform ? 'allToAll' : 'allToAllV'} ${dtype} on ${g.name}`, recv, make(dtype, recvSeq.length, (i) => recvSeq[i] as number));
}

function checkAllGather(comm: Communicator, g: Group, dtype: Dtype, counts: number[] | null, chunk = 5): void {
  const P = g.ranks.length;
  const c = counts ?? new Array<number>(P).fill(chunk);
  const send = sendable(make(dtype, c[g.index] as number, (k) => code(g.index, 0, k)));
  const expSeq = c.flatMap((n, j) => Array.from({ length: n }, (_, k) => code(j, 0, k)));
  const recv = make(dtype, expSeq.length, () => -1);
  comm.allGather(send, recv, g, counts ?? undefined);
  expectArray(`allGather ${dtype} on ${g.name}`, recv, make(dtype, expSeq.length, (i) => expSeq[i] as number));
}

/** Member j's input element i for reductions. */
function input(j: number, i: number, op: 'sum' | 'max'): number {
  return op === 'sum' ? 100 * j + (i % 997) : ((i * 7 + j * 13) % 17) - 8;
}

/** Expected reduction over members of element i: fp32 exact, bf16 as an fp32 sum rounded once. */
function reduced(P: number, i: number, op: 'sum' | 'max', dtype: Dtype): number {
  if (dtype === 'fp32') {
    let acc = input(0, i, op);
    for (let j = 1; j < P; j++) acc = op === 'sum' ? acc + input(j, i, op) : Math.max(acc, input(j, i, op));
    return acc;
  }
  const acc = new Float32Array(1);
  for (let j = 0; j < P; j++) {
    const v = bf16ToF32(f32ToBf16(input(j, i, op) * 1.01));
    acc[0] = j === 0 ? v : op === 'sum' ? (acc[0] as number) + v : Math.max(acc[0] as number, v);
  }
  return f32ToBf16(acc[0] as number);
}

/** Reduction inputs: integers in fp32; in bf16 values that need rounding, to check the single rounding. */
function reduceInput(dtype: Dtype, j: number, n: number, op: 'sum' | 'max', offset = 0): Payload {
  if (dtype === 'fp32') return Float32Array.from({ length: n }, (_, i) => input(j, i + offset, op));
  return Uint16Array.from({ length: n }, (_, i) => f32ToBf16(input(j, i + offset, op) * 1.01));
}

function expectedReduced(dtype: Dtype, P: number, n: number, op: 'sum' | 'max', offset = 0): Payload {
  const f = (i: number): number => reduced(P, i + offset, op, dtype);
  return dtype === 'fp32' ? Float32Array.from({ length: n }, (_, i) => f(i)) : Uint16Array.from({ length: n }, (_, i) => f(i));
}

function checkAllReduce(comm: Communicator, g: Group, dtype: Dtype, n: number, op: 'sum' | 'max'): void {
  const buf = reduceInput(dtype, g.index, n, op);
  comm.allReduce(buf, g, op);
  expectArray(`allReduce ${op} ${dtype} n=${n} on ${g.name}`, buf, expectedReduced(dtype, g.ranks.length, n, op));
}

function checkReduceScatter(comm: Communicator, g: Group, dtype: Dtype, counts: number[], op: 'sum' | 'max', uneven: boolean): void {
  const P = g.ranks.length;
  const total = counts.reduce((a, b) => a + b, 0);
  const offset = counts.slice(0, g.index).reduce((a, b) => a + b, 0);
  const send = sendable(reduceInput(dtype, g.index, total, op));
  const recv = make(dtype, counts[g.index] as number, () => -3);
  comm.reduceScatter(send, recv, g, op, uneven ? counts : undefined);
  expectArray(`reduceScatter ${op} ${dtype} on ${g.name}`, recv, expectedReduced(dtype, P, counts[g.index] as number, op, offset));
}

function checkBroadcast(comm: Communicator, g: Group, dtype: Dtype, root: number, n: number): void {
  const buf = sendable(make(dtype, n, (k) => (g.index === root ? code(root, 9, k) : -5)));
  comm.broadcast(buf, root, g);
  expectArray(`broadcast root ${root} ${dtype} on ${g.name}`, buf, make(dtype, n, (k) => code(root, 9, k)));
}

function checkRing(comm: Communicator, g: Group, dtype: Dtype, n: number): void {
  const send = sendable(make(dtype, n, (k) => code(g.index, g.next, k)));
  const recv = make(dtype, n, () => -2);
  comm.sendRecv(send, g.next, recv, g.prev, g);
  expectArray(`sendRecv ring ${dtype} on ${g.name}`, recv, make(dtype, n, (k) => code(g.prev, g.index, k)));
  // Backwards, with a different length per direction-free ring, to reuse slots with new sizes.
  const back = sendable(make(dtype, n + 3, (k) => code(g.index, g.prev, k)));
  const got = make(dtype, n + 3, () => -2);
  comm.sendRecv(back, g.prev, got, g.next, g);
  expectArray(`sendRecv reverse ring ${dtype} on ${g.name}`, got, make(dtype, n + 3, (k) => code(g.next, g.index, k)));
}

/** Pairs (0,1), (2,3), ...: even members send, odd members receive; a trailing odd member idles. */
function checkPairs(comm: Communicator, g: Group, dtype: Dtype): void {
  const me = g.index;
  const P = g.ranks.length;
  const sends = me % 2 === 0 && me + 1 < P;
  const recvs = me % 2 === 1;
  const send = sends ? sendable(make(dtype, 4, (k) => code(me, me + 1, k))) : null;
  const recv = recvs ? make(dtype, 4, () => 0) : null;
  comm.sendRecv(send, sends ? me + 1 : null, recv, recvs ? me - 1 : null, g);
  if (recv) expectArray(`sendRecv pair ${dtype} on ${g.name}`, recv, make(dtype, 4, (k) => code(me - 1, me, k)));
}

function checkGroup(comm: Communicator, g: Group, dtypes: readonly Dtype[]): void {
  const P = g.ranks.length;
  for (const dtype of dtypes) {
    checkAllToAll(comm, g, dtype, () => 3);
    checkAllToAll(comm, g, dtype, (from, to) => (from + 2 * to) % 4);
    checkAllGather(comm, g, dtype, null);
    checkAllGather(comm, g, dtype, Array.from({ length: P }, (_, j) => (j * 7 + 1) % 4));
    for (const op of ['sum', 'max'] as const) {
      checkAllReduce(comm, g, dtype, 2 * P + 3, op);
      checkReduceScatter(comm, g, dtype, new Array<number>(P).fill(4), op, false);
      checkReduceScatter(comm, g, dtype, Array.from({ length: P }, (_, j) => (j * 5 + 2) % 3), op, true);
    }
    checkBroadcast(comm, g, dtype, 0, 7);
    checkBroadcast(comm, g, dtype, P - 1, 11);
    checkRing(comm, g, dtype, 6);
    checkPairs(comm, g, dtype);
    comm.barrier(g);
    freeSendables(comm);
  }
}

/** Grid shapes exercised per world size: subgroups with strided and consecutive members. */
export function gridFor(P: number): RankGrid {
  if (P === 8) return makeGrid({ dp: 2, sp: 4, ring: 2 });
  if (P === 4) return makeGrid({ dp: 2, sp: 2 });
  return makeGrid({ dp: 1, sp: P });
}

function runAll(comm: Communicator): number {
  checkGroup(comm, comm.world, ['fp32', 'bf16']);
  const groups = rankGroups(gridFor(comm.worldSize), comm.rank);
  // Subgroups in fp32 only (bf16 paths are group-independent), each distinct member list once.
  const seen = new Set([comm.world.ranks.join(',')]);
  for (const g of [groups.sp, groups.dp, groups.ulysses, groups.ring, groups.zero]) {
    if (seen.has(g.ranks.join(','))) continue;
    seen.add(g.ranks.join(','));
    checkGroup(comm, g, ['fp32']);
  }
  // Large messages grow the staging buffers past their initial size (and shrink back to small ones).
  checkAllReduce(comm, comm.world, 'fp32', 20_003, 'sum');
  checkAllGather(comm, comm.world, 'fp32', null, 7_001);
  checkAllToAll(comm, groups.sp, 'bf16', () => 5_000);
  checkAllReduce(comm, comm.world, 'bf16', 5, 'sum');
  freeSendables(comm);
  return comm.snapshot().total.calls;
}

/** Several collectives in flight at once on different groups, completed out of order. */
async function runAsync(comm: Communicator): Promise<number> {
  const P = comm.worldSize;
  const { sp, dp } = rankGroups(gridFor(P), comm.rank);
  const S = sp.ranks.length;
  const a2aSend = sendable(Float32Array.from({ length: 2 * S }, (_, i) => code(sp.index, Math.floor(i / 2), i % 2)));
  const a2aRecv = new Float32Array(2 * S);
  const red = Float32Array.from({ length: 9 }, (_, i) => input(dp.index, i, 'sum'));
  const gathered = new Uint16Array(3 * P);
  const ringRecv = new Float32Array(4);
  const h1 = comm.allToAllAsync(a2aSend, a2aRecv, sp);
  const h2 = comm.allReduceAsync(red, dp);
  const h3 = comm.allGatherAsync(sendable(Uint16Array.from([comm.rank, comm.rank + 100, comm.rank + 200])), gathered, comm.world);
  const h4 = comm.sendRecvAsync(sendable(Float32Array.from([comm.rank, 1, 2, 3])), sp.next, ringRecv, sp.prev, sp);
  // More calls in flight than mailbox slots: starting them must make progress on the earlier ones.
  const many = Array.from({ length: 12 }, (_, t) => Float32Array.from([comm.rank + t]));
  const hs = many.map((b) => comm.allReduceAsync(b, comm.world, 'max'));
  comm.barrier(comm.world); // a blocking call while others are in flight
  let busy = 0;
  for (let i = 0; i < 1e5; i++) busy += Math.sqrt(i); // compute overlapping the communication
  await Promise.all([h4.wait(), h3.wait()]);
  h2.waitSync();
  await h1.wait();
  for (const h of hs) await h.wait();
  expectArray('async allToAll', a2aRecv, Float32Array.from({ length: 2 * S }, (_, i) => code(Math.floor(i / 2), sp.index, i % 2)));
  expectArray('async allReduce', red, Float32Array.from({ length: 9 }, (_, i) => {
    let s = 0;
    for (let j = 0; j < dp.ranks.length; j++) s += input(j, i, 'sum');
    return s;
  }));
  expectArray('async allGather', gathered, Uint16Array.from({ length: 3 * P }, (_, i) => Math.floor(i / 3) + 100 * (i % 3)));
  expectArray('async sendRecv', ringRecv, Float32Array.from([sp.ranks[sp.prev] as number, 1, 2, 3]));
  many.forEach((b, t) => expectArray(`async allReduce max #${t}`, b, Float32Array.from([P - 1 + t])));
  if (!h1.test() || !hs.every((h) => h.test())) throw new Error('test() is false after wait()');
  freeSendables(comm);
  return busy > 0 ? comm.snapshot().total.calls : -1;
}

/** The groups this program uses, so the MPI backend can create their communicators up front. */
export function groups(world: number): number[][] {
  return gridGroupLists(gridFor(world));
}

export async function main(comm: Communicator, args: CollectivesArgs): Promise<number> {
  sharedComm = args.sharedSend === true ? comm : null;
  return args.scenario === 'all' ? runAll(comm) : runAsync(comm);
}
