// RoPE: the Hugging Face rotate_half layout on hand-checked values, native against the reference,
// backward as the exact inverse and transpose of forward, and accuracy at positions near 100000.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose, dot, randomArray, rng } from '../helpers.js';

const ref = createReferenceKernels();
const native = createNativeKernels();
const theta = 10000;
const shapes: Array<[number, number, number]> = [[1, 1, 2], [3, 5, 8], [5, 2, 6], [7, 3, 64], [2, 4, 130]];

function randomPositions(N: number, seed: number, max = 200000): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: N }, () => Math.floor(r() * max));
}

test('rope uses the rotate_half layout: channel i pairs with i + D/2 at angle pos * theta^(-2i/D)', () => {
  const D = 4;
  for (const k of [ref, native]) {
    // Token at position 1, head 0 has x = e0, head 1 has x = e1 (channel 1 turns at theta^(-2/4) = 0.01).
    const x = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]); // [1, 2, 4]
    k.rope_forward(x, new Int32Array([1]), 1, 2, D, theta);
    const want = [Math.cos(1), 0, Math.sin(1), 0, 0, Math.cos(0.01), 0, Math.sin(0.01)];
    assertClose(x, want, 1e-7, `${k.name} rotate_half`);
  }
});

test('rope: native matches the reference, forward and backward', () => {
  let seed = 1;
  for (const [N, H, D] of shapes) {
    const pos = randomPositions(N, (seed += 10));
    const x = randomArray(N * H * D, seed + 1); // [N,H,D]
    const xr = x.slice();
    const xn = x.slice();
    ref.rope_forward(xr, pos, N, H, D, theta);
    native.rope_forward(xn, pos, N, H, D, theta);
    assertClose(xn, xr, 1e-5, `rope forward ${N}x${H}x${D}`);
    const gr = x.slice();
    const gn = x.slice();
    ref.rope_backward(gr, pos, N, H, D, 500000);
    native.rope_backward(gn, pos, N, H, D, 500000);
    assertClose(gn, gr, 1e-5, `rope backward ${N}x${H}x${D}`);
  }
});

test('rope_backward undoes rope_forward', () => {
  const [N, H, D] = [6, 3, 16];
  const pos = randomPositions(N, 3);
  const x = randomArray(N * H * D, 4);
  for (const k of [ref, native]) {
    const y = x.slice();
    k.rope_forward(y, pos, N, H, D, theta);
    k.rope_backward(y, pos, N, H, D, theta);
    assertClose(y, x, 1e-6, `${k.name} round trip`);
  }
});

test('rope_backward is the gradient of rope_forward: <w, R x> = <R^T w, x>', () => {
  // rope is linear in x, so this adjoint identity is exactly the statement that backward is its gradient.
  const [N, H, D] = [5, 2, 12];
  const pos = randomPositions(N, 5);
  const x = randomArray(N * H * D, 6);
  const w = randomArray(N * H * D, 7);
  for (const k of [ref, native]) {
    const rx = x.slice();
    k.rope_forward(rx, pos, N, H, D, theta);
    const rtw = w.slice();
    k.rope_backward(rtw, pos, N, H, D, theta);
    const lhs = dot(w, rx);
    const rhs = dot(rtw, x);
    assert.ok(Math.abs(lhs - rhs) <= 1e-6 * Math.max(1, Math.abs(lhs)), `${k.name}: ${lhs} vs ${rhs}`);
  }
});

test('rope stays accurate at long positions: scores depend only on the position difference', () => {
  // A float32 angle at position 100000 is off by up to 0.004 rad; computed in float64 it is exact.
  const D = 64;
  const q = randomArray(D, 8);
  const key = randomArray(D, 9);
  const score = (k: typeof ref, pq: number, pk: number) => {
    const a = q.slice();
    const b = key.slice();
    k.rope_forward(a, new Int32Array([pq]), 1, 1, D, theta);
    k.rope_forward(b, new Int32Array([pk]), 1, 1, D, theta);
    return dot(a, b);
  };
  for (const k of [ref, native]) {
    for (const delta of [0, 1, 37]) {
      const near = score(k, delta, 0);
      const far = score(k, 100000 + delta, 100000);
      const ok = Math.abs(far - near) <= 1e-5 * Math.max(1, Math.abs(near));
      assert.ok(ok, `${k.name} delta ${delta}: ${far} vs ${near}`);
    }
  }
});

test('rope refuses an odd head size and short buffers', () => {
  for (const k of [ref, native]) {
    assert.throws(() => k.rope_forward(new Float32Array(3), new Int32Array(1), 1, 1, 3, theta), RangeError);
  }
  assert.throws(() => native.rope_forward(new Float32Array(7), new Int32Array(1), 1, 2, 4, theta), RangeError);
  assert.throws(() => native.rope_backward(new Float32Array(8), new Int32Array(1), 2, 1, 4, theta), RangeError);
});
