// The two all-to-all layouts of Ulysses. sequence-to-head turns this rank's token shard of every
// head into the whole sequence for the heads this rank attends over; head-to-sequence is the
// reverse (and sums contributions when several ranks hold the same head, as GQA kv heads can).
//
// Shape legend: B = batch, N = full sequence, n_r = tokens of rank r, Hs = heads of the
// sequence-sharded tensor, c_r = heads rank r holds on the head-sharded side, D = head size.
//   sequence-sharded: [B, n_me, Hs, D]          head-sharded: [B, N, c_me, D]
//   block me -> j on the wire: [B, n_me, c_j, D] (sequence-to-head), [B, n_j, c_me, D] (head-to-sequence)
// The wire carries fp32 or bf16 (layout.wire); compute buffers on both sides are always fp32.
import type { CommHandle, Communicator } from '../../dist/communicator.js';
import type { Group } from '../../dist/group.js';
import type { Span } from './plan.js';
import { freshWirePool, type WirePool } from './payload-pool.js';
import { fromWire, toWire, type WireBuffer, type WireDtype } from './wire.js';

/** The geometry of one all-to-all: token shards of every rank and head spans of every rank. */
export interface A2ALayout {
  readonly B: number;
  readonly D: number;
  /** Heads of the sequence-sharded tensor. */
  readonly Hs: number;
  readonly tokenCounts: readonly number[];
  readonly tokenOffsets: readonly number[];
  /** Head span rank r holds on the head-sharded side (spans may overlap). */
  readonly spans: readonly Span[];
  /** Element type on the wire (default fp32); bf16 halves the bytes and rounds each value once. */
  readonly wire?: WireDtype;
}

/** An all-to-all in flight: finish() waits for it and lays the result out. */
export interface PendingA2A {
  finish(): void;
  readonly handle: CommHandle;
}

function at<T>(a: readonly T[], i: number): T {
  return a[i] as T;
}

/** Element counts of the blocks this rank sends to / receives from each member (sequence-to-head). */
export function seqToHeadCounts(l: A2ALayout, me: number): { send: number[]; recv: number[] } {
  const n = at(l.tokenCounts, me);
  const c = at(l.spans, me).count;
  return {
    send: l.spans.map((s) => l.B * n * s.count * l.D),
    recv: l.tokenCounts.map((ni) => l.B * ni * c * l.D),
  };
}

/** Whether every block of the exchange has one size, so the equal-split allToAll applies on every rank. */
export function isEqualSplit(l: A2ALayout): boolean {
  const n0 = at(l.tokenCounts, 0);
  const c0 = at(l.spans, 0).count;
  return l.tokenCounts.every((n) => n === n0) && l.spans.every((s) => s.count === c0);
}

/** Whether headToSeqStart sends its input as it is (B = 1, fp32 wire) rather than a packed copy. */
export function headToSeqSendsInput(l: A2ALayout): boolean {
  return l.B === 1 && (l.wire ?? 'fp32') === 'fp32';
}

function start(
  comm: Communicator, group: Group, l: A2ALayout, send: WireBuffer, sendCounts: number[],
  recv: WireBuffer, recvCounts: number[],
): CommHandle {
  return isEqualSplit(l)
    ? comm.allToAllAsync(send, recv, group)
    : comm.allToAllVAsync(send, sendCounts, recv, recvCounts, group);
}

function checkSizes(l: A2ALayout, group: Group, seq: Float32Array, head: Float32Array, what: string): void {
  const me = group.index;
  const P = group.ranks.length;
  if (l.tokenCounts.length !== P || l.spans.length !== P) {
    throw new RangeError(`${what}: layout has ${l.tokenCounts.length} token shards and ${l.spans.length} head spans for a group of ${P}`);
  }
  const N = l.tokenCounts.reduce((a, b) => a + b, 0);
  const seqNeed = l.B * at(l.tokenCounts, me) * l.Hs * l.D;
  const headNeed = l.B * N * at(l.spans, me).count * l.D;
  if (seq.length !== seqNeed) throw new RangeError(`${what}: sequence-sharded buffer has ${seq.length} elements, expected ${seqNeed}`);
  if (head.length !== headNeed) throw new RangeError(`${what}: head-sharded buffer has ${head.length} elements, expected ${headNeed}`);
}

/**
 * Starts out[B, N, c_me, D] = the heads spans[me] of every rank's inp[B, n_r, Hs, D]. inp may be
 * reused once start returns; call finish() before reading out. The packed send buffer and any
 * receive scratch come from pool and go back to it in finish(). shareSend packs into a shared
 * buffer that peers read in place, so finish() also waits until every peer has read it: worth it
 * when finish() follows at once, not when the caller computes in between while peers may not
 * enter a collective call to read it.
 */
export function seqToHeadStart(
  comm: Communicator, group: Group, l: A2ALayout, out: Float32Array, inp: Float32Array, pool: WirePool = freshWirePool,
  shareSend = true,
): PendingA2A {
  checkSizes(l, group, inp, out, 'sequence-to-head');
  const me = group.index;
  const { B, D, Hs } = l;
  const n = at(l.tokenCounts, me);
  const counts = seqToHeadCounts(l, me);
  const wire = l.wire ?? 'fp32';
  const send = pool.take(wire, counts.send.reduce((a, b) => a + b, 0), shareSend ? 'send' : 'recv'); // blocks [B, n_me, c_j, D] by destination j
  let o = 0;
  for (const s of l.spans) {
    const w = s.count * D;
    // Rows [B·n] of this span's heads, stride Hs·D, packed contiguously for destination j.
    toWire(send, o, inp, s.start * D, B * n, w, Hs * D);
    o += B * n * w;
  }
  // With B = 1 and an fp32 wire the blocks from each source are consecutive token rows of out: receive in place.
  const direct = B === 1 && wire === 'fp32';
  const recv = direct ? out : pool.take(wire, out.length, 'recv'); // blocks [B, n_i, c_me, D] by source i
  const handle = start(comm, group, l, send, counts.send, recv, counts.recv);
  const c = at(l.spans, me).count;
  const N = out.length / (B * c * D);
  return {
    handle,
    finish(): void {
      handle.waitSync();
      // Every peer has read the send buffer once the handle completes.
      pool.give(send);
      if (direct) return;
      let r = 0;
      l.tokenCounts.forEach((ni, i) => {
        const rowLen = ni * c * D;
        // Source i's block: B rows of its n_i tokens, each landing at its token offset in every batch row.
        fromWire(out, at(l.tokenOffsets, i) * c * D, N * c * D, recv, r, B, rowLen);
        r += B * rowLen;
      });
      pool.give(recv);
    },
  };
}

/**
 * Starts out[B, n_me, Hs, D] from every rank's inp[B, N, c_r, D]: head h of out is the sum of
 * what the ranks whose span holds h computed for this rank's tokens (one rank, unless spans overlap).
 * With B = 1 and an fp32 wire inp itself is sent, so it must stay untouched until finish() (and is
 * read in place by peers when it came from allocShared); otherwise it is packed into a buffer from pool.
 */
export function headToSeqStart(
  comm: Communicator, group: Group, l: A2ALayout, out: Float32Array, inp: Float32Array, pool: WirePool = freshWirePool,
): PendingA2A {
  checkSizes(l, group, out, inp, 'head-to-sequence');
  const me = group.index;
  const { B, D, Hs } = l;
  const n = at(l.tokenCounts, me);
  const c = at(l.spans, me).count;
  const counts = seqToHeadCounts(l, me);
  const N = inp.length / (B * c * D);
  const wire = l.wire ?? 'fp32';
  // With B = 1 and an fp32 wire, inp's token rows are already grouped by destination: send it as it is.
  const packed = !headToSeqSendsInput(l);
  let send: WireBuffer = inp; // blocks [B, n_j, c_me, D] by destination j
  if (packed) {
    send = pool.take(wire, inp.length, 'send');
    let o = 0;
    l.tokenCounts.forEach((nj, j) => {
      const rowLen = nj * c * D;
      // Destination j's tokens of every batch row, packed contiguously.
      toWire(send, o, inp, at(l.tokenOffsets, j) * c * D, B, rowLen, N * c * D);
      o += B * rowLen;
    });
  }
  const recv = pool.take(wire, counts.send.reduce((a, b) => a + b, 0), 'recv'); // blocks [B, n_me, c_i, D] by source i
  const handle = start(comm, group, l, send, counts.recv, recv, counts.send);
  const overlap = spansOverlap(l.spans, Hs);
  return {
    handle,
    finish(): void {
      handle.waitSync();
      if (packed) pool.give(send);
      if (overlap) out.fill(0);
      let r = 0;
      for (const s of l.spans) {
        const w = s.count * D;
        // Source i's heads for this rank's B·n rows, stride Hs·D (summed when spans overlap).
        fromWire(out, s.start * D, Hs * D, recv, r, B * n, w, overlap);
        r += B * n * w;
      }
      pool.give(recv);
    },
  };
}

/** True unless the spans are disjoint and cover [0, Hs) exactly (then each head has one writer). */
function spansOverlap(spans: readonly Span[], Hs: number): boolean {
  const cover = new Array<number>(Hs).fill(0);
  for (const s of spans) for (let h = s.start; h < s.start + s.count; h++) cover[h] = (cover[h] ?? 0) + 1;
  return cover.some((x) => x !== 1);
}

/** Blocking sequence-to-head. */
export function seqToHead(comm: Communicator, group: Group, l: A2ALayout, out: Float32Array, inp: Float32Array): void {
  seqToHeadStart(comm, group, l, out, inp).finish();
}

/** Blocking head-to-sequence. */
export function headToSeq(comm: Communicator, group: Group, l: A2ALayout, out: Float32Array, inp: Float32Array): void {
  headToSeqStart(comm, group, l, out, inp).finish();
}
