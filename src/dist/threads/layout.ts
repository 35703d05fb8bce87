// Layout of the control block all ranks of a threads job share (one Int32Array over a
// SharedArrayBuffer): the abort word, one doorbell per rank, and per rank a few mailbox slots,
// each describing one posted collective whose data sits in that slot's staging buffer.
import type { CollectiveName } from '../communicator.js';

/** 0 while the job is healthy, else 1 + the first rank that failed. */
export const ABORT = 0;
/** Ranks that finished connecting (the startup handshake). */
export const READY = 1;
/** Int32 words per doorbell: each on its own 64-byte line so ringing one does not disturb another. */
const LINE = 16;
const DOOR_BASE = LINE;

// Slot fields (offsets from the slot's base). VER is a seqlock: odd while the owner rewrites the
// slot, even and non-zero while a post is readable. Readers load it before and after the key.
export const F_VER = 0;
export const F_KEY_A = 1;
export const F_KEY_B = 2;
export const F_SEQ = 3;
export const F_OP = 4;
export const F_DTYPE = 5;
/** Group size, part of the match so differently sized groups never pair up. */
export const F_SIZE = 6;
export const F_N = 7;
export const F_AUX = 8;
export const F_AUX2 = 9;
/** Generation of the staging buffer holding this post's data. */
export const F_GEN = 10;
/** 1 once posted; 2 once an all-reduce's reduced chunk is ready. */
export const F_PHASE = 11;
/** Element offset of the reduced chunk (all-reduce phase 2). */
export const F_RED_OFF = 12;
/**
 * Id of the sender's allocShared buffer holding this post's data, read in place (0: the data is in
 * the slot's staging buffer), and the element offset of the data in it.
 */
export const F_SHARED = 13;
export const F_BASE = 14;
const HEADER = 16;

export interface ControlLayout {
  readonly world: number;
  /** Mailbox slots per rank: how many collectives one rank may have in flight. */
  readonly slots: number;
  readonly slotStride: number;
  /** Int32 words in the whole block. */
  readonly words: number;
}

export function controlLayout(world: number, slots: number): ControlLayout {
  const slotStride = Math.ceil((HEADER + 3 * world) / LINE) * LINE;
  const words = DOOR_BASE + LINE * world + world * slots * slotStride;
  return { world, slots, slotStride, words };
}

export function createControl(layout: ControlLayout): SharedArrayBuffer {
  return new SharedArrayBuffer(layout.words * 4);
}

export function doorIndex(rank: number): number {
  return DOOR_BASE + LINE * rank;
}

export function slotBase(layout: ControlLayout, rank: number, slot: number): number {
  return DOOR_BASE + LINE * layout.world + (rank * layout.slots + slot) * layout.slotStride;
}

/** Where per-member counts start in a slot (one word per group member). */
export function countsBase(layout: ControlLayout, rank: number, slot: number): number {
  return slotBase(layout, rank, slot) + HEADER;
}

/** Where per-member staging offsets start in a slot. */
export function offsetsBase(layout: ControlLayout, rank: number, slot: number): number {
  return countsBase(layout, rank, slot) + layout.world;
}

/** Where the read acknowledgements start: word r is 1 once global rank r has read this post. */
export function acksBase(layout: ControlLayout, rank: number, slot: number): number {
  return offsetsBase(layout, rank, slot) + layout.world;
}

export const OP_CODES: Readonly<Record<CollectiveName, number>> = {
  allToAll: 1, allToAllV: 2, allGather: 3, reduceScatter: 4, allReduce: 5, broadcast: 6, sendRecv: 7, barrier: 8,
};

export function opName(code: number): CollectiveName | `unknown op ${number}` {
  for (const [name, c] of Object.entries(OP_CODES)) if (c === code) return name as CollectiveName;
  return `unknown op ${code}`;
}

/** Two independent 32-bit FNV-1a hashes of a group's member list: its identity in the mailbox. */
export function groupKey(ranks: readonly number[]): readonly [number, number] {
  const text = ranks.join(',');
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ ranks.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 13);
  }
  return [a | 0, b | 0];
}
