// Staging buffers: each mailbox slot of a rank owns one SharedArrayBuffer that the sender copies its
// data into and the receivers copy out of (one copy in, one copy out per transfer). A slot grows on
// demand: the owner allocates a bigger buffer, announces it with its generation number on a
// BroadcastChannel, and only then publishes a post referring to that generation. Receivers drain
// the channel synchronously (receiveMessageOnPort) when a post names a generation they lack (a
// message posted before the post is always queued by then), and take any the event loop delivers.
// The same channel announces the buffers a rank hands out with allocShared (by id, never reused),
// which peers then read in place, and their release.
import { BroadcastChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Dtype } from '../collective-args.js';

export interface StagingViews {
  readonly f32: Float32Array;
  readonly u16: Uint16Array;
}

type Announcement =
  | { readonly kind: 'slot'; readonly rank: number; readonly slot: number; readonly gen: number; readonly buffer: SharedArrayBuffer }
  | { readonly kind: 'shared'; readonly rank: number; readonly id: number; readonly buffer: SharedArrayBuffer }
  | { readonly kind: 'free'; readonly rank: number; readonly id: number };

interface Entry extends StagingViews {
  readonly gen: number;
}

function views(buffer: SharedArrayBuffer, gen: number): Entry {
  return { gen, f32: new Float32Array(buffer, 0, buffer.byteLength >> 2), u16: new Uint16Array(buffer) };
}

export interface StagingOptions {
  /** Smallest buffer a slot allocates. */
  readonly initialBytes: number;
  /** Largest buffer a slot may grow to; a bigger message is refused with an error saying so. */
  readonly maxBytes: number;
}

export class Staging {
  readonly #rank: number;
  readonly #channel: BroadcastChannel;
  readonly #opts: StagingOptions;
  /** This rank's slots. */
  readonly #own: (Entry | undefined)[] = [];
  /** Peers' slots, keyed by rank * slots + slot: the newest generation announced. */
  readonly #peers = new Map<number, Entry>();
  readonly #slots: number;
  /** This rank's allocShared buffers and their ids. */
  readonly #shared = new Map<SharedArrayBuffer, number>();
  #nextShared = 1;
  /** Peers' allocShared buffers, keyed by `${rank}:${id}`. */
  readonly #peerShared = new Map<string, SharedArrayBuffer>();

  constructor(rank: number, slots: number, channelName: string, opts: StagingOptions) {
    this.#rank = rank;
    this.#slots = slots;
    this.#opts = opts;
    this.#channel = new BroadcastChannel(channelName);
    // A BroadcastChannel is started on creation, so whenever the event loop runs (an await) it
    // dispatches queued messages as events, which receiveMessageOnPort then never sees.
    this.#channel.onmessage = (ev: unknown) => this.#learn((ev as { data: Announcement }).data);
    // The channel must not keep the thread alive.
    (this.#channel as unknown as { unref?: () => void }).unref?.();
  }

  /** Bytes the staging buffer of this rank's `slot` holds now (0 before its first use). */
  capacity(slot: number): number {
    return this.#own[slot]?.u16.byteLength ?? 0;
  }

  /** This rank's slot buffer with room for `elements` of `dtype`, grown (and announced) if needed. */
  own(slot: number, elements: number, dtype: Dtype): Entry {
    const bytes = elements * (dtype === 'fp32' ? 4 : 2);
    const cur = this.#own[slot];
    if (cur && cur.u16.byteLength >= bytes) return cur;
    if (bytes > this.#opts.maxBytes) {
      throw new RangeError(
        `staging: a message of ${bytes} bytes exceeds the communicator's maxStagingBytes (${this.#opts.maxBytes}); ` +
          'raise maxStagingBytes in the launch options',
      );
    }
    const old = cur ? cur.u16.byteLength : 0;
    const size = Math.min(this.#opts.maxBytes, Math.max(bytes, 2 * old, this.#opts.initialBytes));
    const gen = (cur ? cur.gen : 0) + 1;
    const buffer = new SharedArrayBuffer(Math.ceil(size / 64) * 64);
    const entry = views(buffer, gen);
    this.#own[slot] = entry;
    const msg: Announcement = { kind: 'slot', rank: this.#rank, slot, gen, buffer };
    this.#channel.postMessage(msg);
    return entry;
  }

  /** The staging views of a peer's slot at generation `gen`; reads pending announcements if needed. */
  peer(rank: number, slot: number, gen: number): StagingViews {
    const key = rank * this.#slots + slot;
    let entry = this.#peers.get(key);
    for (let tries = 0; entry?.gen !== gen; tries++) {
      if (!this.drain()) {
        if (tries > 1000) throw new Error(`staging: rank ${rank} slot ${slot} generation ${gen} was never announced`);
        // The announcement is queued before the post is visible, so this is only a safety net.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
      entry = this.#peers.get(key);
    }
    return entry;
  }

  /** Registers a buffer of this rank that peers may read in place, announces it, and returns its id. */
  share(buffer: SharedArrayBuffer): number {
    const id = this.#nextShared++;
    this.#shared.set(buffer, id);
    this.#channel.postMessage({ kind: 'shared', rank: this.#rank, id, buffer } satisfies Announcement);
    return id;
  }

  /** The id of this rank's shared buffer `buffer`, or 0 if it is not one. */
  sharedId(buffer: ArrayBufferLike): number {
    return buffer instanceof SharedArrayBuffer ? (this.#shared.get(buffer) ?? 0) : 0;
  }

  /** Withdraws a shared buffer; peers drop it when they next drain the channel. */
  unshare(buffer: SharedArrayBuffer): void {
    const id = this.#shared.get(buffer);
    if (id === undefined) return;
    this.#shared.delete(buffer);
    this.#channel.postMessage({ kind: 'free', rank: this.#rank, id } satisfies Announcement);
  }

  /** A peer's shared buffer `id`; reads pending announcements if needed (they precede the post). */
  peerShared(rank: number, id: number): SharedArrayBuffer {
    const key = `${rank}:${id}`;
    let buffer = this.#peerShared.get(key);
    for (let tries = 0; !buffer; tries++) {
      if (!this.drain()) {
        if (tries > 1000) throw new Error(`staging: rank ${rank}'s shared buffer ${id} was never announced`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
      buffer = this.#peerShared.get(key);
    }
    return buffer;
  }

  /**
   * Reads every queued announcement; false if there were none. Called at each collective too, so
   * queued messages do not keep superseded buffers alive in ranks that never read that peer.
   */
  drain(): boolean {
    let any = false;
    // Node accepts a BroadcastChannel here (documented), though @types/node only lists MessagePort.
    const port = this.#channel as unknown as MessagePort;
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      any = true;
      this.#learn(m.message as Announcement);
    }
    return any;
  }

  #learn(a: Announcement): void {
    if (a.kind === 'shared') this.#peerShared.set(`${a.rank}:${a.id}`, a.buffer);
    if (a.kind === 'free') this.#peerShared.delete(`${a.rank}:${a.id}`);
    if (a.kind !== 'slot') return;
    const key = a.rank * this.#slots + a.slot;
    const cur = this.#peers.get(key);
    if (!cur || cur.gen < a.gen) this.#peers.set(key, views(a.buffer, a.gen));
  }

  close(): void {
    this.#channel.close();
  }
}

/**
 * Which free mailbox slot a call staging `need` bytes takes: the one whose buffer fits most tightly,
 * else the biggest. A call on a slot too small grows it (a fresh buffer, every page faulted in on
 * first copy), so big calls keep to the slots already grown and calls staging nothing take small ones.
 * Ties go to the first slot listed (the communicator lists them in order).
 */
export function bestFitSlot(free: readonly number[], need: number, capacity: (slot: number) => number): number {
  if (free.length === 0) throw new RangeError('bestFitSlot: no free slot to choose from');
  const fits = free.filter((s) => capacity(s) >= need);
  if (fits.length > 0) return fits.reduce((a, b) => (capacity(b) < capacity(a) ? b : a));
  return free.reduce((a, b) => (capacity(b) > capacity(a) ? b : a));
}
