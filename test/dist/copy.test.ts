// The threads backend's payload copy: native memcpy above NATIVE_COPY_MIN_BYTES, TypedArray.set
// below. It must give exactly what set gives for fp32 and bf16 payloads, on ArrayBuffers and
// SharedArrayBuffers, from subarray views, at offsets, and between overlapping views of one buffer;
// a type mismatch or an overflow is refused by name instead of copying.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NATIVE_COPY_MIN_BYTES, copyPayload } from '../../src/dist/threads/copy.js';
import { loadNativeAddon } from '../../src/kernels/native/binding.js';

type Ctor = Float32ArrayConstructor | Uint16ArrayConstructor;

function filled(C: Ctor, n: number, shared: boolean, seed: number): Float32Array | Uint16Array {
  const buffer = shared ? new SharedArrayBuffer(n * C.BYTES_PER_ELEMENT) : new ArrayBuffer(n * C.BYTES_PER_ELEMENT);
  const a = C === Float32Array ? new Float32Array(buffer) : new Uint16Array(buffer);
  for (let i = 0; i < n; i++) a[i] = (i * 7 + seed) % 65521;
  return a;
}

for (const C of [Float32Array, Uint16Array] as const) {
  for (const [srcShared, dstShared] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    test(`copyPayload(${C.name}, src ${srcShared ? 'shared' : 'plain'}, dst ${dstShared ? 'shared' : 'plain'}) equals TypedArray.set`, () => {
      const big = (2 * NATIVE_COPY_MIN_BYTES) / C.BYTES_PER_ELEMENT + 3; // above the threshold, odd length
      for (const n of [5, big]) {
        const src = filled(C, n + 11, srcShared, 1).subarray(11); // a view that does not start at byte 0
        const dst = filled(C, n + 20, dstShared, 2);
        const want = dst.slice();
        want.set(src, 9);
        copyPayload(dst, src, 9);
        assert.deepEqual(dst, want, `n = ${n}`);
      }
    });
  }
}

test('copyPayload moves overlapping views of one buffer as set does (memmove)', () => {
  const n = NATIVE_COPY_MIN_BYTES; // elements of 4 bytes: four times the threshold
  const a = filled(Float32Array, 2 * n, true, 3);
  const want = a.slice();
  want.set(want.subarray(0, n + 100), n - 100);
  copyPayload(a, a.subarray(0, n + 100), n - 100);
  assert.deepEqual(a, want);
});

test('native copyInto refuses mixed element types and copies that overflow dst, naming them', () => {
  const addon = loadNativeAddon();
  assert.throws(() => addon.copyInto(new Float32Array(4), 0, new Uint16Array(4) as unknown as Float32Array), /same element type/);
  assert.throws(() => addon.copyInto(new Float32Array(4), 2, new Float32Array(3)), /3 elements at offset 2 do not fit in dst of 4/);
  assert.throws(() => addon.copyInto(new Float32Array(4), 0, [1, 2] as unknown as Float32Array), /src: expected a typed array/);
});
