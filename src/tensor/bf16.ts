// bfloat16 helpers: bf16 values are stored as their 16 bit patterns in a Uint16Array (the top half
// of the fp32 bit pattern). fp32 -> bf16 rounds to nearest, ties to even; NaN stays a (quiet) NaN.

const scalarF32 = new Float32Array(1);
const scalarU32 = new Uint32Array(scalarF32.buffer);

/** Rounds fp32 bits to bf16 bits (round to nearest even); NaNs keep their sign and become quiet. */
function roundBits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x0040) & 0xffff;
  // The largest non-NaN pattern plus 0x8000 stays below 2^32, so the shift never wraps.
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** bf16 bit pattern of x, rounded to nearest even. */
export function f32ToBf16(x: number): number {
  scalarF32[0] = x;
  return roundBits(scalarU32[0] as number);
}

/** The fp32 value of a bf16 bit pattern (exact). */
export function bf16ToF32(bits: number): number {
  scalarU32[0] = (bits & 0xffff) << 16;
  return scalarF32[0] as number;
}

/** dst[i] = bf16(src[i]) for i < src.length. */
export function f32ArrayToBf16(dst: Uint16Array, src: Float32Array): void {
  if (dst.length < src.length) throw new RangeError(`f32ArrayToBf16: dst has ${dst.length} elements, src ${src.length}`);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = roundBits(bits[i] as number);
}

/** dst[i] = fp32(src[i]) for i < src.length (exact). */
export function bf16ArrayToF32(dst: Float32Array, src: Uint16Array): void {
  if (dst.length < src.length) throw new RangeError(`bf16ArrayToF32: dst has ${dst.length} elements, src ${src.length}`);
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) bits[i] = (src[i] as number) << 16;
}

