// The element type an all-to-all carries on the wire, and the copies between fp32 compute buffers
// and wire buffers, a block of rows at a time. bf16 halves the bytes; conversion happens while
// packing and unpacking (in the native addon when it is built, else in TypeScript), so no
// whole-tensor fp32 copy is made. fp32 -> bf16 rounds to nearest even (NaN stays a quiet NaN), as
// src/tensor/bf16.ts; bf16 -> fp32 is exact.
import { optionalNativeAddon, type NativeAddon } from '../../kernels/native/binding.js';

/** What an all-to-all payload holds: fp32 values, or bf16 bit patterns. */
export type WireDtype = 'fp32' | 'bf16';

/** A wire buffer: Float32Array for fp32, Uint16Array of bf16 bits for bf16. */
export type WireBuffer = Float32Array | Uint16Array;

/** A zeroed wire buffer of n elements. */
export function wireAlloc(wire: WireDtype, n: number): WireBuffer {
  return wire === 'bf16' ? new Uint16Array(n) : new Float32Array(n);
}

let addon: NativeAddon | null | undefined;

/** The native converters, or null when the addon is not built (the TypeScript loops run instead). */
function native(): NativeAddon | null {
  if (addon === undefined) addon = optionalNativeAddon();
  return addon;
}

/** Whether the native converters may be used (default true); tests turn them off to check the TypeScript loops. */
export function useNativeWire(on: boolean): void {
  addon = on ? undefined : null;
}

/**
 * dst[dOff + r·rowLen + c] = src[sOff + r·sStride + c] for r < rows, c < rowLen: rows of an fp32
 * tensor packed contiguously into a wire buffer (rounded to bf16 when dst holds bf16).
 */
export function toWire(
  dst: WireBuffer, dOff: number, src: Float32Array, sOff: number, rows: number, rowLen: number, sStride: number,
): void {
  if (dst instanceof Float32Array) {
    for (let r = 0; r < rows; r++) dst.set(src.subarray(sOff + r * sStride, sOff + r * sStride + rowLen), dOff + r * rowLen);
    return;
  }
  const a = native();
  if (a) {
    a.f32ToBf16Rows(dst, dOff, src, sOff, rows, rowLen, sStride);
    return;
  }
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let r = 0; r < rows; r++) {
    const s0 = sOff + r * sStride;
    const d0 = dOff + r * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const b = bits[s0 + i] as number;
      // The largest non-NaN pattern plus 0x8000 stays below 2^32, so the shift never wraps.
      dst[d0 + i] = (b & 0x7fffffff) > 0x7f800000 ? ((b >>> 16) | 0x0040) & 0xffff : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    }
  }
}

const one = new Float32Array(1);
const oneBits = new Uint32Array(one.buffer);

/**
 * dst[dOff + r·dStride + c] = src[sOff + r·rowLen + c] (dst += src with add): contiguous rows of a
 * wire buffer laid out into an fp32 tensor (widened exactly from bf16).
 */
export function fromWire(
  dst: Float32Array, dOff: number, dStride: number, src: WireBuffer, sOff: number, rows: number, rowLen: number, add = false,
): void {
  if (src instanceof Float32Array) {
    for (let r = 0; r < rows; r++) {
      const s0 = sOff + r * rowLen;
      const d0 = dOff + r * dStride;
      if (!add) dst.set(src.subarray(s0, s0 + rowLen), d0);
      else for (let i = 0; i < rowLen; i++) dst[d0 + i] = (dst[d0 + i] as number) + (src[s0 + i] as number);
    }
    return;
  }
  const a = native();
  if (a) {
    a.bf16ToF32Rows(dst, dOff, dStride, src, sOff, rows, rowLen, add);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s0 = sOff + r * rowLen;
    const d0 = dOff + r * dStride;
    for (let i = 0; i < rowLen; i++) {
      oneBits[0] = (src[s0 + i] as number) << 16;
      dst[d0 + i] = add ? (dst[d0 + i] as number) + (one[0] as number) : (one[0] as number);
    }
  }
}
