// One collective in flight on the threads backend, as a small state machine:
//   post:  copy this rank's send data into its slot's staging buffer (the one copy in), do the
//          self part directly, publish the descriptor;
//   find:  locate every member's post for the same (group, call number), checking each matches;
//   read:  copy the parts addressed to this rank straight out of the peers' staging buffers (the
//          one copy out), or reduce them; all-reduce then publishes its reduced chunk and reads the
//          others' (phase 2); finally acknowledge every peer so it can reuse its slot.
import type { ByteCount } from '../accounting.js';
import type { Dtype } from '../collective-args.js';
import { evenCounts, prefixOffsets } from '../collective-args.js';
import type { CollectiveName, Payload } from '../communicator.js';
import { CommMismatchError } from '../errors.js';
import type { CollectiveCall } from '../plan.js';
import type { Group } from '../group.js';
import type { Descriptor, GroupKey, Mailbox, Post } from './mailbox.js';
import { describeCall, mismatch } from './match.js';
import { ReduceScratch, reduceChunks } from './reduce.js';
import type { Staging, StagingViews } from './staging.js';

export interface OpContext {
  readonly rank: number;
  readonly mailbox: Mailbox;
  readonly staging: Staging;
  readonly scratch: ReduceScratch;
}

/** The group a call runs on: the caller's Group, how messages name it, and its mailbox key. */
export interface OpGroup {
  readonly group: Group;
  /** describeGroup(group). */
  readonly label: string;
  readonly key: GroupKey;
}

function view(v: StagingViews, dtype: Dtype): Payload {
  return dtype === 'fp32' ? v.f32 : v.u16;
}

export class ThreadsOp {
  done = false;
  recorded = false;
  timeMs = 0;
  slot = -1;
  readonly #ctx: OpContext;
  readonly #a: CollectiveCall;
  readonly #gs: OpGroup;
  readonly #seq: number;
  readonly #desc: Descriptor;
  readonly #posts: (Post | undefined)[];
  readonly #found: number[];
  #own: StagingViews | null = null;
  #phase: 'find' | 'reduced' | 'done' = 'find';

  constructor(ctx: OpContext, args: CollectiveCall, gs: OpGroup, seq: number) {
    this.#ctx = ctx;
    this.#a = args;
    this.#gs = gs;
    this.#seq = seq;
    const size = gs.group.ranks.length;
    this.#posts = new Array<Post | undefined>(size).fill(undefined);
    this.#found = new Array<number>(size).fill(-1);
    const n = args.name === 'allReduce' || args.name === 'broadcast' ? (args.recv?.length ?? 0) : (args.send?.length ?? 0);
    this.#desc = {
      op: args.name, dtype: args.dtype, size, n,
      aux: args.name === 'broadcast' || args.name === 'sendRecv' ? args.peer : args.reduce === 'sum' ? 0 : 1,
      aux2: args.src,
      counts: args.name === 'allReduce' ? evenCounts(n, size) : args.counts,
    };
  }

  get name(): CollectiveName {
    return this.#a.name;
  }
  get seq(): number {
    return this.#seq;
  }
  get opGroup(): OpGroup {
    return this.#gs;
  }
  get bytes(): ByteCount {
    return this.#a.bytes;
  }

  /** Copies the send data into `slot`'s staging buffer, does the self part, and publishes. */
  post(slot: number): void {
    const { name, send, recv, dtype } = this.#a;
    const me = this.#gs.group.index;
    const size = this.#gs.group.ranks.length;
    const counts = this.#desc.counts;
    let offsets: readonly number[] = [];
    let staged = 0;
    let redOff = 0;
    let fill: ((dst: Payload) => void) | null = null;
    if ((name === 'allToAll' || name === 'allToAllV') && send && recv) {
      // Peers' blocks are packed without this rank's own block, which goes straight to recv.
      const sendOff = prefixOffsets(counts);
      const packed: number[] = [];
      counts.forEach((c, j) => {
        packed.push(staged);
        if (j !== me) staged += c;
      });
      offsets = packed;
      fill = (dst) => counts.forEach((c, j) => {
        if (j !== me) dst.set(send.subarray(sendOff[j] as number, (sendOff[j] as number) + c), packed[j] as number);
      });
      const recvOff = prefixOffsets(this.#a.recvCounts);
      recv.set(send.subarray(sendOff[me] as number, sendOff[me + 1] as number), recvOff[me] as number);
    } else if (name === 'allGather' && send && recv) {
      staged = send.length;
      fill = (dst) => dst.set(send);
      recv.set(send, prefixOffsets(counts)[me] as number);
    } else if ((name === 'reduceScatter' || name === 'allReduce') && size === 1) {
      // A group of one reduces nothing (one bf16 value rounds to itself): the result is the input.
      if (name === 'reduceScatter' && send && recv) recv.set(send);
    } else if (name === 'reduceScatter' && send) {
      staged = send.length;
      offsets = prefixOffsets(counts);
      fill = (dst) => dst.set(send);
    } else if (name === 'allReduce' && recv) {
      offsets = prefixOffsets(counts);
      redOff = recv.length;
      staged = recv.length + (counts[me] as number);
      fill = (dst) => dst.set(recv);
    } else if (name === 'broadcast' && recv && me === this.#a.peer && size > 1) {
      staged = recv.length;
      fill = (dst) => dst.set(recv);
    } else if (name === 'sendRecv' && send && this.#a.peer >= 0) {
      if (this.#a.peer === me) recv?.set(send);
      else {
        staged = send.length;
        fill = (dst) => dst.set(send);
      }
    }
    let gen = 0;
    if (staged > 0 && fill) {
      const own = this.#ctx.staging.own(slot, staged, dtype);
      fill(view(own, dtype));
      this.#own = own;
      gen = own.gen;
    }
    this.slot = slot;
    this.#found[me] = slot;
    this.#ctx.mailbox.publish(slot, this.#gs.key, this.#seq, this.#desc, offsets, gen, redOff, this.#gs.group.ranks);
  }

  /** Advances as far as the peers allow; throws CommMismatchError on an incompatible peer call. */
  step(): void {
    if (this.#phase === 'find') {
      if (!this.#findAll()) return;
      this.#readAll();
    }
    if (this.#phase === 'reduced') this.#gatherReduced();
  }

  /** Global ranks this call still waits on, and what they have not done. */
  waitingOn(): { ranks: number[]; who: string } {
    const ranks = this.#gs.group.ranks;
    if (this.#phase === 'find') return { ranks: ranks.filter((_, j) => this.#found[j] === -1), who: 'ranks that never arrived' };
    const mb = this.#ctx.mailbox;
    const late = ranks.filter((r, j) => mb.phase(r, this.#found[j] as number) !== 2);
    return { ranks: late, who: 'ranks that arrived but never posted their reduced chunk' };
  }

  #findAll(): boolean {
    const { group } = this.#gs;
    const mb = this.#ctx.mailbox;
    let all = true;
    group.ranks.forEach((r, j) => {
      if (this.#found[j] !== -1) return;
      const slot = mb.find(r, this.#gs.key, this.#seq, group.ranks.length);
      if (slot < 0) {
        all = false;
        return;
      }
      const post = mb.read(r, slot);
      const why = mismatch(this.#desc, group.index, post, j, this.#a.recvCounts, this.#a.recv?.length ?? 0);
      if (why !== null) {
        throw new CommMismatchError(this.#a.name, this.#gs.label, this.#seq,
          `rank ${this.#ctx.rank} called ${describeCall(this.#desc)} but rank ${r} called ${describeCall(post)} (${why})`);
      }
      this.#found[j] = slot;
      this.#posts[j] = post;
    });
    return all;
  }

  /** Peer j's staging buffer, typed as this call's payload. */
  #peerData(j: number): Payload {
    const post = this.#posts[j];
    if (j === this.#gs.group.index || !post) {
      if (!this.#own) return this.#a.dtype === 'fp32' ? new Float32Array(0) : new Uint16Array(0);
      return view(this.#own, this.#a.dtype);
    }
    // Generation 0: the peer staged nothing (an empty chunk), so there is nothing to map.
    if (post.gen === 0) return this.#a.dtype === 'fp32' ? new Float32Array(0) : new Uint16Array(0);
    return view(this.#ctx.staging.peer(this.#gs.group.ranks[j] as number, this.#found[j] as number, post.gen), this.#a.dtype);
  }

  #readAll(): void {
    const { name, recv, dtype } = this.#a;
    const { index: me, ranks } = this.#gs.group;
    const counts = this.#desc.counts;
    if ((name === 'allToAll' || name === 'allToAllV') && recv) {
      const recvOff = prefixOffsets(this.#a.recvCounts);
      this.#posts.forEach((p, j) => {
        if (j === me || !p) return;
        const start = p.offsets[me] as number;
        recv.set(this.#peerData(j).subarray(start, start + (p.counts[me] as number)), recvOff[j] as number);
      });
    } else if (name === 'allGather' && recv) {
      const off = prefixOffsets(counts);
      this.#posts.forEach((p, j) => {
        if (j !== me && p) recv.set(this.#peerData(j).subarray(0, counts[j] as number), off[j] as number);
      });
    } else if ((name === 'reduceScatter' || name === 'allReduce') && this.#own) {
      const off = prefixOffsets(counts);
      const lo = off[me] as number;
      const hi = off[me + 1] as number;
      const sources = ranks.map((_, j) => this.#peerData(j).subarray(lo, hi));
      const out = name === 'reduceScatter' ? recv : view(this.#own, dtype).subarray(this.#desc.n, this.#desc.n + hi - lo);
      if (out) reduceChunks(out, sources, this.#a.reduce, this.#ctx.scratch);
      if (name === 'allReduce') {
        this.#ctx.mailbox.setPhase(this.slot, 2, ranks);
        this.#phase = 'reduced';
        return;
      }
    } else if (name === 'broadcast' && recv && me !== this.#a.peer) {
      recv.set(this.#peerData(this.#a.peer).subarray(0, recv.length));
    } else if (name === 'sendRecv' && recv && this.#a.src >= 0 && this.#a.src !== me) {
      recv.set(this.#peerData(this.#a.src).subarray(0, recv.length));
    }
    this.#finish();
  }

  #gatherReduced(): void {
    const recv = this.#a.recv;
    const mb = this.#ctx.mailbox;
    const { ranks } = this.#gs.group;
    if (!recv || ranks.some((r, j) => mb.phase(r, this.#found[j] as number) !== 2)) return;
    const off = prefixOffsets(this.#desc.counts);
    ranks.forEach((_, j) => {
      const c = this.#desc.counts[j] as number;
      const redOff = this.#posts[j]?.redOff ?? this.#desc.n;
      recv.set(this.#peerData(j).subarray(redOff, redOff + c), off[j] as number);
    });
    this.#finish();
  }

  #finish(): void {
    const mb = this.#ctx.mailbox;
    this.#gs.group.ranks.forEach((r, j) => {
      if (j !== this.#gs.group.index) mb.ack(r, this.#found[j] as number);
    });
    this.#phase = 'done';
    this.done = true;
  }
}
