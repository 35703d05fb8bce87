// The wire copies of bf16 all-to-alls: strided fp32 rows packed into bf16 and laid back out, by the
// native converters and by the TypeScript loops, bit-identical to src/tensor/bf16.ts (round to
// nearest even, ties, NaN, infinities, subnormals), and the fp32 wire an exact copy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromWire, toWire, useNativeWire } from '../../src/parallel/ulysses/wire.js';
import { bf16ToF32, f32ToBf16 } from '../../src/tensor/bf16.js';
import { randomArray } from '../helpers.js';

/** Random values plus the awkward ones: ties both ways, NaN, infinities, a subnormal, -0. */
function values(n: number): Float32Array {
  const x = randomArray(n, 7, 1000);
  const bits = new Uint32Array(x.buffer);
  const special = [0x3f808000, 0x3f818000, 0x7fc00000, 0x7f800001, 0x7f800000, 0xff800000, 0x00000123, 0x80000000, 0x7f7fffff];
  special.forEach((b, i) => (bits[i * 5] = b));
  return x;
}

for (const nativeOn of [true, false]) {
  test(`bf16 rows pack and unpack like f32ToBf16 / bf16ToF32 (${nativeOn ? 'native' : 'TypeScript'} converters)`, () => {
    useNativeWire(nativeOn);
    try {
      const rows = 7;
      const rowLen = 9;
      const sStride = 13;
      const src = values(3 + rows * sStride);
      const packed = new Uint16Array(5 + rows * rowLen);
      toWire(packed, 5, src, 3, rows, rowLen, sStride);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < rowLen; c++) {
          assert.equal(packed[5 + r * rowLen + c], f32ToBf16(src[3 + r * sStride + c] as number), `row ${r} col ${c}`);
        }
      }
      const dStride = 11;
      const out = new Float32Array(2 + rows * dStride).fill(1);
      fromWire(out, 2, dStride, packed, 5, rows, rowLen);
      const summed = out.slice();
      fromWire(summed, 2, dStride, packed, 5, rows, rowLen, true);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < rowLen; c++) {
          const want = bf16ToF32(packed[5 + r * rowLen + c] as number);
          const got = out[2 + r * dStride + c] as number;
          assert.ok(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)), `unpacked row ${r} col ${c}: ${got} vs ${want}`);
          const s = summed[2 + r * dStride + c] as number;
          assert.ok(Object.is(s, Math.fround(want + want)) || (Number.isNaN(s) && Number.isNaN(want)), `summed row ${r} col ${c}`);
        }
        for (let c = rowLen; c < dStride && 2 + r * dStride + c < out.length; c++) assert.equal(out[2 + r * dStride + c], 1, 'gaps untouched');
      }
    } finally {
      useNativeWire(true);
    }
  });
}

test('the fp32 wire copies rows exactly', () => {
  const src = values(40);
  const packed = new Float32Array(20);
  toWire(packed, 0, src, 1, 4, 5, 9);
  const out = new Float32Array(40);
  fromWire(out, 1, 9, packed, 0, 4, 5);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 5; c++) assert.ok(Object.is(out[1 + r * 9 + c], src[1 + r * 9 + c]) || Number.isNaN(out[1 + r * 9 + c] as number));
  }
});
