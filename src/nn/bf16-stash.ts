// A layer's activations kept for backward in bf16: the large [N, *] arrays are rounded to bf16
// after forward and widened back into the shared fp32 working arrays before backward; the small
// per-row statistics stay fp32 (their rounding would cost accuracy and they save little).
import type { AttentionSaved } from '../attention/attention-core.js';
import { bf16ArrayToF32, f32ArrayToBf16 } from '../tensor/bf16.js';

/** The arrays of a block's saved activations, split by how they are stored. */
export interface SavedArrays {
  big: Float32Array[];
  small: Float32Array[];
}

export interface Bf16Stash {
  big: Uint16Array[]; // same lengths as SavedArrays.big
  small: Float32Array[]; // copies of SavedArrays.small
  /** The attention core's saved state of this layer's forward. */
  saved: AttentionSaved | null;
}

export function allocBf16Stash(like: SavedArrays): Bf16Stash {
  return {
    big: like.big.map((a) => new Uint16Array(a.length)),
    small: like.small.map((a) => new Float32Array(a.length)),
    saved: null,
  };
}

/** Bytes allocBf16Stash takes for arrays of these float counts. */
export function bf16StashBytes(bigFloats: number, smallFloats: number): number {
  return 2 * bigFloats + 4 * smallFloats;
}

export function bf16_stash_store(s: Bf16Stash, from: SavedArrays, saved: AttentionSaved | null): void {
  from.big.forEach((a, i) => f32ArrayToBf16(s.big[i] as Uint16Array, a));
  from.small.forEach((a, i) => (s.small[i] as Float32Array).set(a));
  s.saved = saved;
}

/** Widens the stash into `into` (the same arrays it was stored from) and returns the core's saved state. */
export function bf16_stash_load(s: Bf16Stash, into: SavedArrays): AttentionSaved | null {
  into.big.forEach((a, i) => bf16ArrayToF32(a, s.big[i] as Uint16Array));
  into.small.forEach((a, i) => a.set(s.small[i] as Float32Array));
  return s.saved;
}
