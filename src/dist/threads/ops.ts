// One collective in flight on the threads backend, as a small state machine:
//   post:  copy this rank's send data into its slot's staging buffer (the one copy in), or, for a
//          send buffer from allocShared, publish that buffer for peers to read in place (no copy
//          in); do the self part directly; publish the descriptor;
//   find:  locate every member's post for the same (group, call number), checking each matches;
//          calls that only move data (all-to-all, all-gather, broadcast, sendRecv) copy a peer's
//          part out as soon as its post appears and acknowledge it, so with more ranks than cores
//          one rank's copy out overlaps another's copy in;
//   read:  reductions wait for every post, then reduce the parts addressed to this rank straight
//          out of the peers' data; all-reduce then publishes its reduced chunk and reads the
//          others' (phase 2); finally acknowledge every peer so it can reuse its slot;
//   drain: a rank whose buffer peers read in place is done only once every peer acknowledged it,
//          so the caller cannot overwrite data a peer is still reading.
import type { ByteCount } from '../accounting.js';
import type { Dtype } from '../collective-args.js';
import { evenCounts, prefixOffsets } from '../collective-args.js';
import type { CollectiveName, Payload } from '../communicator.js';
import { CommMismatchError } from '../errors.js';
import type { CollectiveCall } from '../plan.js';
import type { Group } from '../group.js';
import type { Descriptor, GroupKey, Mailbox, Post } from './mailbox.js';
import { copyPayload } from './copy.js';
import { describeCall, mismatch } from './match.js';
import { planPost, type PostPlan } from './post-plan.js';
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

function empty(dtype: Dtype): Payload {
  return dtype === 'fp32' ? new Float32Array(0) : new Uint16Array(0);
}

/** Calls whose result is a plain copy of each peer's part, which can be taken as each post appears. */
const STREAMED: ReadonlySet<CollectiveName> = new Set(['allToAll', 'allToAllV', 'allGather', 'broadcast', 'sendRecv']);

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
  /** What peers read from this rank: its staging buffer, or its send buffer read in place. */
  #ownData: Payload | null = null;
  /** The allocShared buffer peers read in place for this call, if any. */
  #inPlace: Payload | null = null;
  /** Where each member's part lands in recv (all-to-all, all-gather). */
  #recvOff: readonly number[] = [];
  #phase: 'find' | 'reduced' | 'drain' | 'done' = 'find';
  #postPlan: PostPlan | undefined;

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
  /** The allocShared buffer peers read in place until this call is done, or null. */
  get inPlaceBuffer(): ArrayBufferLike | null {
    return this.#inPlace?.buffer ?? null;
  }

  /** Bytes this call copies into its slot's staging buffer (0 when it stages nothing). */
  get stagingBytes(): number {
    const plan = this.#plan();
    return plan.inPlace || !plan.fill ? 0 : plan.staged * (this.#a.dtype === 'fp32' ? 4 : 2);
  }

  #plan(): PostPlan {
    const { staging } = this.#ctx;
    const { group } = this.#gs;
    this.#postPlan ??= planPost(this.#a, group.index, group.ranks.length, this.#desc.counts, (p) => staging.sharedId(p.buffer) > 0);
    return this.#postPlan;
  }

  /** Stages the send data in `slot` (or offers the shared send buffer), does the self part, and publishes. */
  post(slot: number): void {
    const { name, dtype } = this.#a;
    const me = this.#gs.group.index;
    const staging = this.#ctx.staging;
    const plan = this.#plan();
    if (name === 'allToAll' || name === 'allToAllV') this.#recvOff = prefixOffsets(this.#a.recvCounts);
    else if (name === 'allGather') this.#recvOff = prefixOffsets(this.#desc.counts);
    let gen = 0;
    let shared = 0;
    let base = 0;
    if (plan.inPlace) {
      this.#inPlace = plan.inPlace;
      this.#ownData = plan.inPlace;
      shared = staging.sharedId(plan.inPlace.buffer);
      base = plan.inPlace.byteOffset / plan.inPlace.BYTES_PER_ELEMENT;
    } else if (plan.staged > 0 && plan.fill) {
      const own = staging.own(slot, plan.staged, dtype);
      this.#ownData = view(own, dtype);
      plan.fill(this.#ownData);
      gen = own.gen;
    }
    this.slot = slot;
    this.#found[me] = slot;
    const src = { gen, shared, base, redOff: plan.redOff };
    this.#ctx.mailbox.publish(slot, this.#gs.key, this.#seq, this.#desc, plan.offsets, src, this.#gs.group.ranks);
    // Peers may read this rank's data from here on, while it copies its own part.
    plan.selfCopy?.();
  }

  /** Advances as far as the peers allow; throws CommMismatchError on an incompatible peer call. */
  step(): void {
    if (this.#phase === 'find') {
      if (STREAMED.has(this.#a.name)) {
        if (!this.#findAll((j) => this.#readFrom(j))) return;
        this.#complete();
      } else {
        if (!this.#findAll(null)) return;
        this.#readAll();
      }
    }
    if (this.#phase === 'reduced') this.#gatherReduced();
    if (this.#phase === 'drain') this.#drain();
  }

  /** Global ranks this call still waits on, and what they have not done. */
  waitingOn(): { ranks: number[]; who: string } {
    const ranks = this.#gs.group.ranks;
    if (this.#phase === 'find') return { ranks: ranks.filter((_, j) => this.#found[j] === -1), who: 'ranks that never arrived' };
    const mb = this.#ctx.mailbox;
    if (this.#phase === 'drain') {
      return { ranks: mb.unacked(this.slot, ranks), who: "ranks that arrived but never finished reading this rank's send buffer" };
    }
    const late = ranks.filter((r, j) => mb.phase(r, this.#found[j] as number) !== 2);
    return { ranks: late, who: 'ranks that arrived but never posted their reduced chunk' };
  }

  /** Looks for every missing member's post; `onFound(j)` runs for each as it appears. True once all are found. */
  #findAll(onFound: ((j: number) => void) | null): boolean {
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
      onFound?.(j);
    });
    return all;
  }

  /** Peer j's published data, typed as this call's payload, from where its post says it lies. */
  #peerData(j: number): Payload {
    const { dtype } = this.#a;
    const post = this.#posts[j];
    if (j === this.#gs.group.index || !post) return this.#ownData ?? empty(dtype);
    const rank = this.#gs.group.ranks[j] as number;
    if (post.shared > 0) {
      const buffer = this.#ctx.staging.peerShared(rank, post.shared);
      return dtype === 'fp32' ? new Float32Array(buffer, post.base * 4) : new Uint16Array(buffer, post.base * 2);
    }
    // Generation 0: the peer staged nothing (an empty chunk), so there is nothing to map.
    if (post.gen === 0) return empty(dtype);
    return view(this.#ctx.staging.peer(rank, this.#found[j] as number, post.gen), dtype);
  }

  /** Copies what peer j sends to this rank out of its data (calls in STREAMED), then acknowledges it. */
  #readFrom(j: number): void {
    const { name, recv } = this.#a;
    const me = this.#gs.group.index;
    const p = this.#posts[j];
    if (j === me || !p) return;
    if (recv) {
      if (name === 'allToAll' || name === 'allToAllV') {
        const start = p.offsets[me] as number;
        copyPayload(recv, this.#peerData(j).subarray(start, start + (p.counts[me] as number)), this.#recvOff[j] as number);
      } else if (name === 'allGather') {
        copyPayload(recv, this.#peerData(j).subarray(0, this.#desc.counts[j] as number), this.#recvOff[j] as number);
      } else if ((name === 'broadcast' && j === this.#a.peer) || (name === 'sendRecv' && j === this.#a.src)) {
        copyPayload(recv, this.#peerData(j).subarray(0, recv.length));
      }
    }
    this.#ctx.mailbox.ack(this.#gs.group.ranks[j] as number, this.#found[j] as number);
  }

  /** Reductions, once every post is found; other calls read nothing here (barrier) or as posts appear. */
  #readAll(): void {
    const { name, recv } = this.#a;
    const { index: me, ranks } = this.#gs.group;
    if ((name === 'reduceScatter' || name === 'allReduce') && this.#ownData) {
      const off = prefixOffsets(this.#desc.counts);
      const lo = off[me] as number;
      const hi = off[me + 1] as number;
      const sources = ranks.map((_, j) => this.#peerData(j).subarray(lo, hi));
      const out = name === 'reduceScatter' ? recv : this.#ownData.subarray(this.#desc.n, this.#desc.n + hi - lo);
      if (out) reduceChunks(out, sources, this.#a.reduce, this.#ctx.scratch);
      if (name === 'allReduce') {
        this.#ctx.mailbox.setPhase(this.slot, 2, ranks);
        this.#phase = 'reduced';
        return;
      }
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
      copyPayload(recv, this.#peerData(j).subarray(redOff, redOff + c), off[j] as number);
    });
    this.#finish();
  }

  /** Acknowledges every peer (calls read all at once), then completes. */
  #finish(): void {
    const mb = this.#ctx.mailbox;
    this.#gs.group.ranks.forEach((r, j) => {
      if (j !== this.#gs.group.index) mb.ack(r, this.#found[j] as number);
    });
    this.#complete();
  }

  /** This rank's reads are done; the call is too unless peers still read its buffer in place. */
  #complete(): void {
    this.#phase = this.#inPlace ? 'drain' : 'done';
    if (this.#phase === 'done') this.done = true;
  }

  #drain(): void {
    if (this.#ctx.mailbox.unacked(this.slot, this.#gs.group.ranks).length > 0) return;
    this.#phase = 'done';
    this.done = true;
  }
}
