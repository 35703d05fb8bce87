// Argument checks and chunk layouts shared by every backend, so all backends accept and refuse
// the same calls with the same messages.
import type { ChunkCounts, CollectiveName, Payload, ReduceOp } from './communicator.js';
import { describeGroup, type Group } from './group.js';

export type Dtype = 'fp32' | 'bf16';

/** Largest element count a single buffer may have (the threads backend stores counts as int32). */
export const MAX_ELEMENTS = 0x7fffffff;

export function payloadDtype(op: CollectiveName, buf: Payload): Dtype {
  if (buf instanceof Float32Array) return 'fp32';
  if (buf instanceof Uint16Array) return 'bf16';
  throw new TypeError(`${op}: payload must be a Float32Array (fp32) or a Uint16Array (bf16 bits)`);
}

export function bytesPerElement(dtype: Dtype): number {
  return dtype === 'fp32' ? 4 : 2;
}

/** The dtype of a send/receive pair; both buffers must have the same type. */
export function pairDtype(op: CollectiveName, send: Payload, recv: Payload): Dtype {
  const a = payloadDtype(op, send);
  const b = payloadDtype(op, recv);
  if (a !== b) throw new TypeError(`${op}: send is ${a} but recv is ${b}; both must have the same type`);
  return a;
}

export function checkLength(op: CollectiveName, what: string, buf: Payload, expected: number): void {
  if (buf.length !== expected) throw new RangeError(`${op}: ${what} has ${buf.length} elements, expected ${expected}`);
  if (expected > MAX_ELEMENTS) throw new RangeError(`${op}: ${what} has ${expected} elements, more than ${MAX_ELEMENTS}`);
}

export function checkReduceOp(op: CollectiveName, reduce: ReduceOp): ReduceOp {
  if (reduce !== 'sum' && reduce !== 'max') throw new RangeError(`${op}: reduce op '${String(reduce)}' is not 'sum' or 'max'`);
  return reduce;
}

export function checkIndex(op: CollectiveName, what: string, index: number, group: Group): number {
  if (!Number.isInteger(index) || index < 0 || index >= group.ranks.length) {
    throw new RangeError(`${op}: ${what} ${index} is not a member index of group ${group.name} (size ${group.ranks.length})`);
  }
  return index;
}

/** Copies counts after checking there is one non-negative integer per group member. */
export function checkCounts(op: CollectiveName, what: string, counts: ChunkCounts, size: number): number[] {
  if (counts.length !== size) throw new RangeError(`${op}: ${what} has ${counts.length} entries, the group has ${size} members`);
  for (const c of counts) {
    if (!Number.isInteger(c) || c < 0) throw new RangeError(`${op}: ${what} contains ${c}, not a non-negative integer`);
  }
  return [...counts];
}

/** offsets[j] = counts[0] + ... + counts[j-1]; offsets[size] is the total. */
export function prefixOffsets(counts: readonly number[]): number[] {
  const offsets = [0];
  let sum = 0;
  for (const c of counts) offsets.push((sum += c));
  return offsets;
}

export function sum(counts: readonly number[]): number {
  let s = 0;
  for (const c of counts) s += c;
  return s;
}

/** Splits n elements into `size` chunks; the first n % size chunks get one extra element. */
export function evenCounts(n: number, size: number): number[] {
  const base = Math.floor(n / size);
  const extra = n % size;
  return Array.from({ length: size }, (_, j) => base + (j < extra ? 1 : 0));
}

/** Counts for an equal all-to-all: send and recv of equal length L split into P blocks of L/P. */
export function equalAllToAllCounts(send: Payload, recv: Payload, size: number): number[] {
  if (send.length !== recv.length) {
    throw new RangeError(`allToAll: send has ${send.length} elements but recv has ${recv.length}; they must be equal`);
  }
  if (send.length % size !== 0) {
    throw new RangeError(`allToAll: ${send.length} elements do not split evenly over ${size} members; use allToAllV`);
  }
  return new Array<number>(size).fill(send.length / size);
}

/** A group is usable by global rank `rank` of a world of `worldSize` ranks. */
export function checkGroup(op: CollectiveName, group: Group, rank: number, worldSize: number): void {
  const label = describeGroup(group);
  if (group.ranks[group.index] !== rank) throw new RangeError(`${op}: group ${label} has index ${group.index}, which is not rank ${rank}`);
  const bad = group.ranks.find((r) => !Number.isInteger(r) || r < 0 || r >= worldSize);
  if (bad !== undefined) throw new RangeError(`${op}: group ${label} contains rank ${bad}, outside the world`);
  if (new Set(group.ranks).size !== group.ranks.length) throw new RangeError(`${op}: group ${label} repeats a rank`);
}
