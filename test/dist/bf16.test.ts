// bf16 helpers (src/tensor/bf16.ts): round to nearest even, special values, exact widening.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ArrayToF32, bf16ToF32, f32ArrayToBf16, f32ToBf16 } from '../../src/tensor/bf16.js';
import { randomArray } from '../helpers.js';

/** The fp32 with the given bit pattern. */
function f32(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0] as number;
}

test('bf16: rounding to nearest, ties to even, by bit pattern', () => {
  const cases: [number, number][] = [
    [0x3f800000, 0x3f80], // 1
    [0x3f808000, 0x3f80], // 1 + 2^-8: tie, 0x3f80 is even -> down
    [0x3f818000, 0x3f82], // tie, 0x3f81 is odd -> up
    [0x3f808001, 0x3f81], // just above the tie -> up
    [0x3f807fff, 0x3f80], // just below the tie -> down
    [0xc0000000, 0xc000], // -2
    [0x80000000, 0x8000], // -0
    [0x00000001, 0x0000], // smallest subnormal rounds to 0
    [0x7f7fffff, 0x7f80], // largest finite fp32 rounds up to +inf
    [0xff7fffff, 0xff80], // and its negative to -inf
    [0x7f800000, 0x7f80], // +inf
    [0xff800000, 0xff80], // -inf
  ];
  for (const [x, want] of cases) {
    assert.equal(f32ToBf16(f32(x)), want, `0x${x.toString(16)}`);
  }
});

test('bf16: NaN stays NaN, including payloads that would round to infinity', () => {
  for (const bits of [0x7fc00000, 0x7f800001, 0xffffffff, 0x7fffffff]) {
    const b = f32ToBf16(f32(bits));
    assert.ok(Number.isNaN(bf16ToF32(b)), `0x${bits.toString(16)} -> 0x${b.toString(16)}`);
  }
});

test('bf16: every non-NaN pattern widens exactly and rounds back to itself', () => {
  for (let b = 0; b < 0x10000; b++) {
    const x = bf16ToF32(b);
    if (Number.isNaN(x)) continue;
    assert.equal(f32ToBf16(x), b);
  }
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0x4049), 3.140625);
});

test('bf16: array conversions equal the scalar ones, on subarray views too', () => {
  const src = randomArray(1001, 7, 1000).subarray(3, 1000);
  const out = new Uint16Array(1005).subarray(5);
  f32ArrayToBf16(out, src);
  for (let i = 0; i < src.length; i++) assert.equal(out[i], f32ToBf16(src[i] as number));
  const back = new Float32Array(1002).subarray(2, 1002);
  bf16ArrayToF32(back, out.subarray(0, src.length));
  for (let i = 0; i < src.length; i++) assert.equal(back[i], bf16ToF32(out[i] as number));
  assert.throws(() => f32ArrayToBf16(new Uint16Array(2), new Float32Array(3)), /dst has 2 elements, src 3/);
});
