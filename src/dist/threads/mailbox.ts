// Reads and writes the shared control block: posting a collective's descriptor into one of this
// rank's slots, finding a peer's post for (group, sequence number), acknowledging it, doorbells
// and the abort word. All cross-thread signalling of the threads backend goes through here.
import type { CollectiveName } from '../communicator.js';
import type { Dtype } from '../collective-args.js';
import {
  ABORT, F_AUX, F_AUX2, F_BASE, F_DTYPE, F_GEN, F_KEY_A, F_KEY_B, F_N, F_OP, F_PHASE, F_RED_OFF, F_SEQ, F_SHARED, F_SIZE, F_VER,
  OP_CODES, READY, acksBase, countsBase, doorIndex, offsetsBase, opName, slotBase, type ControlLayout,
} from './layout.js';

/** What a rank says about its call; peers compare it with theirs to detect mismatched calls. */
export interface Descriptor {
  readonly op: CollectiveName | `unknown op ${number}`;
  readonly dtype: Dtype;
  readonly size: number;
  /** Elements staged or expected (meaning depends on op). */
  readonly n: number;
  readonly aux: number;
  readonly aux2: number;
  /** One entry per group member, or empty. */
  readonly counts: readonly number[];
}

/** Where a post's data lies: the slot's staging buffer, or the sender's allocShared buffer. */
export interface DataSource {
  /** Staging generation holding the data (0: nothing staged). */
  readonly gen: number;
  /** allocShared buffer id read in place (0: none), and the element offset of the data in it. */
  readonly shared: number;
  readonly base: number;
  /** Element offset of an all-reduce's reduced chunk. */
  readonly redOff: number;
}

/** A peer's post as read back from its slot. */
export interface Post extends Descriptor, DataSource {
  readonly offsets: readonly number[];
}

export type GroupKey = readonly [number, number];

export class Mailbox {
  readonly #ctrl: Int32Array;
  readonly #layout: ControlLayout;
  readonly #rank: number;
  readonly #door: number;

  constructor(control: SharedArrayBuffer, layout: ControlLayout, rank: number) {
    this.#ctrl = new Int32Array(control);
    this.#layout = layout;
    this.#rank = rank;
    this.#door = doorIndex(rank);
  }

  /** Writes a post into one of this rank's slots, then rings every other member. */
  publish(
    slot: number, key: GroupKey, seq: number, desc: Descriptor, offsets: readonly number[],
    src: DataSource, members: readonly number[],
  ): void {
    const c = this.#ctrl;
    const base = slotBase(this.#layout, this.#rank, slot);
    Atomics.add(c, base + F_VER, 1); // odd: readers skip the slot while it is rewritten
    Atomics.store(c, base + F_KEY_A, key[0]);
    Atomics.store(c, base + F_KEY_B, key[1]);
    Atomics.store(c, base + F_SEQ, seq);
    Atomics.store(c, base + F_OP, OP_CODES[desc.op as CollectiveName] ?? 0);
    Atomics.store(c, base + F_DTYPE, desc.dtype === 'fp32' ? 0 : 1);
    Atomics.store(c, base + F_SIZE, desc.size);
    Atomics.store(c, base + F_N, desc.n);
    Atomics.store(c, base + F_AUX, desc.aux);
    Atomics.store(c, base + F_AUX2, desc.aux2);
    Atomics.store(c, base + F_GEN, src.gen);
    Atomics.store(c, base + F_SHARED, src.shared);
    Atomics.store(c, base + F_BASE, src.base);
    Atomics.store(c, base + F_RED_OFF, src.redOff);
    Atomics.store(c, base + F_PHASE, 1);
    const cb = countsBase(this.#layout, this.#rank, slot);
    const ob = offsetsBase(this.#layout, this.#rank, slot);
    const ab = acksBase(this.#layout, this.#rank, slot);
    for (let j = 0; j < this.#layout.world; j++) {
      c[cb + j] = desc.counts[j] ?? 0;
      c[ob + j] = offsets[j] ?? 0;
      c[ab + j] = 0;
    }
    Atomics.add(c, base + F_VER, 1); // even again: the post is readable
    this.ringOthers(members);
  }

  /** The slot in which `peer` posted call `seq` on group `key`, or -1 if it has not yet. */
  find(peer: number, key: GroupKey, seq: number, size: number): number {
    const c = this.#ctrl;
    for (let s = 0; s < this.#layout.slots; s++) {
      const base = slotBase(this.#layout, peer, s);
      const v = Atomics.load(c, base + F_VER);
      if (v === 0 || (v & 1) === 1) continue;
      if (
        Atomics.load(c, base + F_SEQ) === seq && Atomics.load(c, base + F_KEY_A) === key[0] &&
        Atomics.load(c, base + F_KEY_B) === key[1] && Atomics.load(c, base + F_SIZE) === size &&
        Atomics.load(c, base + F_VER) === v
      ) {
        return s; // stable from here on: the owner cannot reuse it before this rank acknowledges
      }
    }
    return -1;
  }

  read(peer: number, slot: number): Post {
    const c = this.#ctrl;
    const base = slotBase(this.#layout, peer, slot);
    const size = Atomics.load(c, base + F_SIZE);
    const cb = countsBase(this.#layout, peer, slot);
    const ob = offsetsBase(this.#layout, peer, slot);
    return {
      op: opName(Atomics.load(c, base + F_OP)),
      dtype: Atomics.load(c, base + F_DTYPE) === 0 ? 'fp32' : 'bf16',
      size,
      n: Atomics.load(c, base + F_N),
      aux: Atomics.load(c, base + F_AUX),
      aux2: Atomics.load(c, base + F_AUX2),
      gen: Atomics.load(c, base + F_GEN),
      shared: Atomics.load(c, base + F_SHARED),
      base: Atomics.load(c, base + F_BASE),
      redOff: Atomics.load(c, base + F_RED_OFF),
      counts: Array.from(c.subarray(cb, cb + size)),
      offsets: Array.from(c.subarray(ob, ob + size)),
    };
  }

  phase(peer: number, slot: number): number {
    return Atomics.load(this.#ctrl, slotBase(this.#layout, peer, slot) + F_PHASE);
  }

  /** Marks this rank's all-reduce slot as holding its reduced chunk. */
  setPhase(slot: number, phase: number, members: readonly number[]): void {
    Atomics.store(this.#ctrl, slotBase(this.#layout, this.#rank, slot) + F_PHASE, phase);
    this.ringOthers(members);
  }

  /** Tells `peer` this rank is done reading its post in `slot`. */
  ack(peer: number, slot: number): void {
    Atomics.store(this.#ctrl, acksBase(this.#layout, peer, slot) + this.#rank, 1);
    this.ring(peer);
  }

  /** Members (global ranks, other than this one) that have not yet acknowledged this rank's slot. */
  unacked(slot: number, members: readonly number[]): number[] {
    const ab = acksBase(this.#layout, this.#rank, slot);
    return members.filter((r) => r !== this.#rank && Atomics.load(this.#ctrl, ab + r) !== 1);
  }

  /** The current doorbell value; wait on it after checking conditions, so no ring is lost. */
  bell(): number {
    return Atomics.load(this.#ctrl, this.#door);
  }

  waitBell(seen: number, ms: number): void {
    Atomics.wait(this.#ctrl, this.#door, seen, ms);
  }

  async waitBellAsync(seen: number, ms: number): Promise<void> {
    const r = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(this.#ctrl, this.#door, seen, ms);
    if (!r.async) return;
    // A pending waitAsync does not keep Node's event loop alive; a timer does.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([r.value, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms + 1)))]);
    clearTimeout(timer);
  }

  ring(rank: number): void {
    const i = doorIndex(rank);
    Atomics.add(this.#ctrl, i, 1);
    Atomics.notify(this.#ctrl, i);
  }

  ringOthers(members: readonly number[]): void {
    for (const r of members) if (r !== this.#rank) this.ring(r);
  }

  /** The rank that failed first, or -1 while the job is healthy. */
  abortedBy(): number {
    return Atomics.load(this.#ctrl, ABORT) - 1;
  }

  /** Records `rank` as failed unless another rank failed first, and wakes everyone. */
  abort(rank: number): void {
    Atomics.compareExchange(this.#ctrl, ABORT, 0, rank + 1);
    for (let r = 0; r < this.#layout.world; r++) this.ring(r);
  }

  /** Startup handshake: counts this rank in and wakes everyone. */
  arrive(): void {
    Atomics.add(this.#ctrl, READY, 1);
    for (let r = 0; r < this.#layout.world; r++) this.ring(r);
  }

  arrived(): number {
    return Atomics.load(this.#ctrl, READY);
  }
}

interface AtomicsWithWaitAsync {
  waitAsync(
    a: Int32Array, index: number, value: number, timeout: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}
