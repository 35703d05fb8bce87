// What a rank publishes for one collective on the threads backend: either the elements it copies
// into its slot's staging buffer (and where each peer's part starts there), or, when the send
// buffer came from allocShared, that buffer itself, which peers read in place (no copy in).
// The part a rank keeps for itself goes straight from send to recv, after staging, so that a recv
// overlapping send does not overwrite data before it is staged.
import { prefixOffsets } from '../collective-args.js';
import type { Payload } from '../communicator.js';
import { copyPayload } from './copy.js';
import type { CollectiveCall } from '../plan.js';

export interface PostPlan {
  /** Elements to copy into the staging buffer (0: stage nothing). */
  readonly staged: number;
  /** Fills the staging buffer (the one copy in). */
  readonly fill: ((dst: Payload) => void) | null;
  /** Per member: where its part starts in the published data (all-to-all, reduce-scatter, all-reduce). */
  readonly offsets: readonly number[];
  /** Element offset of an all-reduce's reduced chunk in the staging buffer. */
  readonly redOff: number;
  /** The caller's buffer that peers read in place instead of staging, or null. */
  readonly inPlace: Payload | null;
  /** Copies this rank's own part from send to recv; run after fill (it may overwrite send where recv overlaps it). */
  readonly selfCopy: (() => void) | null;
}

/** True if two views share bytes of one buffer. */
export function overlaps(a: Payload, b: Payload | null): boolean {
  if (!b || a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * The buffer peers may read in place for this call, or null: it must be one `isShared` accepts,
 * hold data, and not overlap what this rank writes during the call (recv), since peers read it
 * while this rank receives.
 */
function inPlaceSource(a: CollectiveCall, me: number, size: number, isShared: (p: Payload) => boolean): Payload | null {
  const { name, send, recv } = a;
  let source: Payload | null = null;
  if (name === 'allToAll' || name === 'allToAllV' || name === 'allGather') source = send;
  else if (name === 'reduceScatter' && size > 1) source = send;
  else if (name === 'sendRecv' && a.peer >= 0 && a.peer !== me) source = send;
  // The root of a broadcast only reads its buffer, so peers may read it while it waits.
  else if (name === 'broadcast' && me === a.peer && size > 1) return recv && recv.length > 0 && isShared(recv) ? recv : null;
  if (!source || source.length === 0 || !isShared(source) || overlaps(source, recv)) return null;
  return source;
}

const NOTHING: PostPlan = { staged: 0, fill: null, offsets: [], redOff: 0, inPlace: null, selfCopy: null };

/** Plans this rank's post. counts: the descriptor's counts. */
export function planPost(
  a: CollectiveCall, me: number, size: number, counts: readonly number[], isShared: (p: Payload) => boolean,
): PostPlan {
  const { name, send, recv } = a;
  const inPlace = inPlaceSource(a, me, size, isShared);
  if ((name === 'allToAll' || name === 'allToAllV') && send && recv) {
    const sendOff = prefixOffsets(counts);
    const selfCopy = (): void =>
      copyPayload(recv, send.subarray(sendOff[me] as number, sendOff[me + 1] as number), prefixOffsets(a.recvCounts)[me] as number);
    if (inPlace) return { ...NOTHING, offsets: sendOff, inPlace, selfCopy };
    // Staged, peers' blocks are packed without this rank's own block, which went straight to recv.
    const packed: number[] = [];
    let staged = 0;
    counts.forEach((c, j) => {
      packed.push(staged);
      if (j !== me) staged += c;
    });
    const fill = (dst: Payload): void => counts.forEach((c, j) => {
      if (j !== me) copyPayload(dst, send.subarray(sendOff[j] as number, (sendOff[j] as number) + c), packed[j] as number);
    });
    return { ...NOTHING, staged, fill, offsets: packed, selfCopy };
  }
  if (name === 'allGather' && send && recv) {
    const selfCopy = (): void => copyPayload(recv, send, prefixOffsets(counts)[me] as number);
    if (inPlace) return { ...NOTHING, inPlace, selfCopy };
    return { ...NOTHING, staged: send.length, fill: (dst) => copyPayload(dst, send), selfCopy };
  }
  if ((name === 'reduceScatter' || name === 'allReduce') && size === 1) {
    // A group of one reduces nothing (one bf16 value rounds to itself): the result is the input.
    if (name === 'reduceScatter' && send && recv) return { ...NOTHING, selfCopy: () => copyPayload(recv, send) };
    return NOTHING;
  }
  if (name === 'reduceScatter' && send) {
    const offsets = prefixOffsets(counts);
    if (inPlace) return { ...NOTHING, offsets, inPlace };
    return { ...NOTHING, staged: send.length, fill: (dst) => copyPayload(dst, send), offsets };
  }
  if (name === 'allReduce' && recv) {
    // The input, then room for this rank's reduced chunk, which peers read in phase 2.
    return {
      ...NOTHING, staged: recv.length + (counts[me] as number), fill: (dst) => copyPayload(dst, recv),
      offsets: prefixOffsets(counts), redOff: recv.length,
    };
  }
  if (name === 'broadcast' && recv && me === a.peer && size > 1) {
    if (inPlace) return { ...NOTHING, inPlace };
    return { ...NOTHING, staged: recv.length, fill: (dst) => copyPayload(dst, recv) };
  }
  if (name === 'sendRecv' && send && a.peer >= 0) {
    if (a.peer === me) return { ...NOTHING, selfCopy: () => { if (recv) copyPayload(recv, send); } };
    if (inPlace) return { ...NOTHING, inPlace };
    return { ...NOTHING, staged: send.length, fill: (dst) => copyPayload(dst, send) };
  }
  return NOTHING;
}
