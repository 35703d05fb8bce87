// sgemm: the reference against hand-computed products, and native OpenBLAS against the reference for
// every transpose combination, odd sizes, alpha/beta, strided leading dimensions and subarray views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sgemm } from '../../src/kernels/reference/gemm.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose, randomArray } from '../helpers.js';

const native = createNativeKernels();

test('reference sgemm computes a known 2x3 @ 3x2 product with alpha and beta', () => {
  const A = new Float32Array([1, 2, 3, 4, 5, 6]); // [2,3]
  const B = new Float32Array([7, 8, 9, 10, 11, 12]); // [3,2]
  const C = new Float32Array([1, 1, 1, 1]); // [2,2]
  sgemm(false, false, 2, 2, 3, 2, A, 3, B, 2, -1, C, 2);
  // A @ B = [[58, 64], [139, 154]]; 2 * that - 1.
  assert.deepEqual(Array.from(C), [115, 127, 277, 307]);
  // A^T @ A^T-shaped: A stored [3,2]-transposed is the same matrix read with transA.
  const At = new Float32Array([1, 4, 2, 5, 3, 6]); // [3,2] = A^T
  const Bt = new Float32Array([7, 9, 11, 8, 10, 12]); // [2,3] = B^T
  const C2 = new Float32Array(4);
  sgemm(true, true, 2, 2, 3, 1, At, 2, Bt, 3, 0, C2, 2);
  assert.deepEqual(Array.from(C2), [58, 64, 139, 154]);
});

test('sgemm with beta = 0 overwrites C without reading it (NaN in C is discarded)', () => {
  const A = randomArray(6, 1); // [2,3]
  const B = randomArray(6, 2); // [3,2]
  const expected = new Float32Array(4);
  sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, expected, 2);
  for (const k of [{ name: 'reference', sgemm }, native]) {
    const C = new Float32Array(4).fill(NaN);
    k.sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2);
    assertClose(C, expected, 1e-6, `${k.name} beta=0`);
  }
});

test('sgemm with K = 0 scales C by beta', () => {
  const C = new Float32Array([1, 2, 3]);
  sgemm(false, false, 1, 3, 0, 1, new Float32Array(0), 0, new Float32Array(0), 3, 0.5, C, 3);
  assert.deepEqual(Array.from(C), [0.5, 1, 1.5]);
});

const sizes: Array<[number, number, number]> = [
  [1, 1, 1],
  [7, 13, 5],
  [33, 17, 65],
  [16, 1, 9],
];

for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    test(`native sgemm matches the reference: transA=${transA} transB=${transB}`, () => {
      let seed = 100;
      for (const [M, N, K] of sizes) {
        for (const pad of [0, 3]) {
          // Stored shapes: A is [M,K] or [K,M], B is [K,N] or [N,K]; pad > 0 makes the row stride longer.
          const aRows = transA ? K : M;
          const aCols = transA ? M : K;
          const bRows = transB ? N : K;
          const bCols = transB ? K : N;
          const lda = aCols + pad;
          const ldb = bCols + pad;
          const ldc = N + pad;
          // Views start a few elements into larger buffers, so byte offsets are exercised too.
          const off = pad === 0 ? 0 : 5;
          const A = randomArray(off + aRows * lda, seed++).subarray(off);
          const B = randomArray(off + bRows * ldb, seed++).subarray(off);
          const C0 = randomArray(off + M * ldc, seed++).subarray(off);
          const alpha = pad === 0 ? 1 : 0.75;
          const beta = pad === 0 ? 0 : -0.5;
          const want = C0.slice();
          const got = C0.slice();
          const gotView = new Float32Array(got.length + 7).subarray(7);
          gotView.set(got);
          sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, want, ldc);
          native.sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, gotView, ldc);
          assertClose(gotView, want, 1e-5, `sgemm ${M}x${N}x${K} ld+${pad}`);
          // Padding columns of C are outside the product and must be untouched.
          for (let i = 0; i < M; i++) {
            for (let j = N; j < ldc; j++) assert.equal(gotView[i * ldc + j], C0[i * ldc + j]);
          }
        }
      }
    });
  }
}

test('native sgemm refuses buffers shorter than the shape', () => {
  const A = new Float32Array(5);
  const B = new Float32Array(6);
  const C = new Float32Array(4);
  assert.throws(() => native.sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2), RangeError);
});
