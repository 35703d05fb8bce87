// Copies between payloads for the threads backend. Typed arrays on a SharedArrayBuffer (staging
// slots, allocShared buffers) copy through V8 with relaxed-atomic word moves, 20-45% below
// memcpy's bandwidth for 64-256 MiB, and every transfer here has a shared side; the native addon's
// copyInto is one memcpy. Small copies, where the call into the addon is a fixed cost, stay in
// JavaScript, and so does every copy when the addon is not built.
import { optionalNativeAddon, type NativeAddon } from '../../kernels/native/binding.js';
import type { Payload } from '../communicator.js';

/** Copies of at least this many bytes go through the addon. */
export const NATIVE_COPY_MIN_BYTES = 64 * 1024;

let addon: NativeAddon | null | undefined;

/** dst.set(src, offset), as one memcpy for large payloads; dst and src have the same element type. */
export function copyPayload(dst: Payload, src: Payload, offset = 0): void {
  if (src.byteLength >= NATIVE_COPY_MIN_BYTES && addon === undefined) addon = optionalNativeAddon();
  if (src.byteLength >= NATIVE_COPY_MIN_BYTES && addon) addon.copyInto(dst, offset, src);
  else dst.set(src, offset);
}
