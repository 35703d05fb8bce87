// Copies between payloads for the threads backend. Typed arrays on a SharedArrayBuffer (staging
// slots, allocShared buffers) copy through V8 with relaxed-atomic word moves at about half of
// memcpy's bandwidth from 64 MiB up, and every transfer here has a shared side; the native addon's
// copyInto is one memcpy. Small copies stay in JavaScript, where a call into the addon costs more
// than it saves, and so does every copy when the addon is not built.
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
