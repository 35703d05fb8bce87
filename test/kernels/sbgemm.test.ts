// sbgemm (bf16 A and B, fp32 C): the reference against a hand-computed product, native against the
// reference for every transpose combination, odd sizes, alpha/beta, strides and subarray views
// (exact bf16 inputs, so only fp32 summation order differs: 1e-5), and against fp32 sgemm on the
// unrounded inputs within bf16 rounding (1e-2; two 8-bit-mantissa roundings per product).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sgemm } from '../../src/kernels/reference/gemm.js';
import { sbgemm } from '../../src/kernels/reference/sbgemm.js';
import { createNativeKernels, sbgemmProvider } from '../../src/kernels/native/native-kernels.js';
import { f32ArrayToBf16 } from '../../src/tensor/bf16.js';
import { assertClose, randomArray, relL2 } from '../helpers.js';

const native = createNativeKernels();

function bf16Of(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  f32ArrayToBf16(out, x);
  return out;
}

test('reference sbgemm computes a known 2x3 @ 3x2 product with alpha and beta', () => {
  // Small integers are exact in bf16.
  const A = bf16Of(new Float32Array([1, 2, 3, 4, 5, 6])); // [2,3]
  const B = bf16Of(new Float32Array([7, 8, 9, 10, 11, 12])); // [3,2]
  const C = new Float32Array([1, 1, 1, 1]); // [2,2]
  sbgemm(false, false, 2, 2, 3, 2, A, 3, B, 2, -1, C, 2);
  assert.deepEqual(Array.from(C), [115, 127, 277, 307]);
  const native2 = new Float32Array([1, 1, 1, 1]);
  native.sbgemm(false, false, 2, 2, 3, 2, A, 3, B, 2, -1, native2, 2);
  assert.deepEqual(Array.from(native2), [115, 127, 277, 307], `native (${sbgemmProvider()})`);
});

const sizes: Array<[number, number, number]> = [
  [1, 1, 1],
  [7, 13, 5],
  [33, 17, 65],
  [64, 48, 256],
];

for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    test(`native sbgemm matches the reference and fp32 within bf16 rounding: transA=${transA} transB=${transB}`, () => {
      let seed = 300;
      for (const [M, N, K] of sizes) {
        for (const pad of [0, 3]) {
          const aRows = transA ? K : M;
          const aCols = transA ? M : K;
          const bRows = transB ? N : K;
          const bCols = transB ? K : N;
          const lda = aCols + pad;
          const ldb = bCols + pad;
          const ldc = N + pad;
          const off = pad === 0 ? 0 : 5;
          const Af = randomArray(off + aRows * lda, seed++); // [aRows, lda] fp32
          const Bf = randomArray(off + bRows * ldb, seed++); // [bRows, ldb] fp32
          const A = bf16Of(Af).subarray(off);
          const B = bf16Of(Bf).subarray(off);
          const C0 = randomArray(off + M * ldc, seed++).subarray(off);
          const alpha = pad === 0 ? 1 : 0.75;
          const beta = pad === 0 ? 0 : -0.5;
          const want = C0.slice();
          const fp32 = C0.slice();
          const gotView = new Float32Array(C0.length + 7).subarray(7);
          gotView.set(C0);
          sbgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, want, ldc);
          sgemm(transA, transB, M, N, K, alpha, Af.subarray(off), lda, Bf.subarray(off), ldb, beta, fp32, ldc);
          native.sbgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, gotView, ldc);
          assertClose(gotView, want, 1e-5, `sbgemm ${M}x${N}x${K} ld+${pad} vs reference`);
          assertClose(gotView, fp32, 1e-2, `sbgemm ${M}x${N}x${K} ld+${pad} vs fp32 sgemm`);
          if (K >= 64) assert.ok(relL2(gotView, fp32) > 1e-5, 'bf16 rounding shows against fp32 on a long product');
          for (let i = 0; i < M; i++) {
            for (let j = N; j < ldc; j++) assert.equal(gotView[i * ldc + j], C0[i * ldc + j]);
          }
        }
      }
    });
  }
}

test('native sbgemm refuses fp32 operands and buffers shorter than the shape', () => {
  const C = new Float32Array(4);
  assert.throws(() => native.sbgemm(false, false, 2, 2, 3, 1, new Uint16Array(5), 3, new Uint16Array(6), 2, 0, C, 2), RangeError);
  const asF32 = new Float32Array(6) as unknown as Uint16Array;
  assert.throws(() => native.sbgemm(false, false, 2, 2, 3, 1, asF32, 3, new Uint16Array(6), 2, 0, C, 2), /Uint16Array of bf16 bits/);
  assert.throws(() => sbgemm(false, false, 2, 2, 3, 1, new Uint16Array(6), 2, new Uint16Array(6), 2, 0, C, 2), /leading dimension/);
});

