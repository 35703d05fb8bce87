// Cross-entropy: native against the reference, the reference against known values and finite
// differences, numerical stability, ignored rows, aliasing of dlogits with logits, bad targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose, finiteDifference, randomArray, rng } from '../helpers.js';

const ref = createReferenceKernels();
const native = createNativeKernels();
const shapes: Array<[number, number]> = [[1, 1], [3, 7], [5, 257], [4, 1000], [1, 50257]];

/** Targets in [0, V), with every third row ignored (-1) when N > 1. */
function randomTargets(N: number, V: number, seed: number): Int32Array {
  const r = rng(seed);
  const t = new Int32Array(N); // [N]
  for (let n = 0; n < N; n++) t[n] = N > 1 && n % 3 === 1 ? -1 : Math.floor(r() * V);
  return t;
}

test('crossentropy: native matches the reference, forward and backward', () => {
  let seed = 1;
  for (const [N, V] of shapes) {
    const logits = randomArray(N * V, (seed += 10), 5); // [N,V]
    const targets = randomTargets(N, V, seed + 1);
    const lossR = new Float32Array(N);
    const lossN = new Float32Array(N);
    ref.crossentropy_forward(lossR, logits, targets, N, V);
    native.crossentropy_forward(lossN, logits, targets, N, V);
    assertClose(lossN, lossR, 1e-5, `losses ${N}x${V}`);
    // Prefilled garbage must be overwritten, not accumulated into.
    const dR = randomArray(N * V, seed + 2);
    const dN = randomArray(N * V, seed + 3);
    ref.crossentropy_backward(dR, logits, targets, 0.37, N, V);
    native.crossentropy_backward(dN, logits, targets, 0.37, N, V);
    assertClose(dN, dR, 1e-5, `dlogits ${N}x${V}`);
  }
});

test('crossentropy of uniform logits is log V; ignored rows give zero loss and gradient', () => {
  const N = 3;
  const V = 11;
  const logits = new Float32Array(N * V).fill(0.25);
  const targets = new Int32Array([4, -1, 0]);
  for (const k of [ref, native]) {
    const losses = new Float32Array(N).fill(9);
    k.crossentropy_forward(losses, logits, targets, N, V);
    assert.ok(Math.abs((losses[0] as number) - Math.log(V)) < 1e-6, `${k.name} loss ${losses[0]}`);
    assert.equal(losses[1], 0);
    const d = new Float32Array(N * V).fill(9);
    k.crossentropy_backward(d, logits, targets, 1, N, V);
    for (let i = V; i < 2 * V; i++) assert.equal(d[i], 0, `${k.name} ignored row gradient`);
    assert.ok(Math.abs((d[4] as number) - (1 / V - 1)) < 1e-6, `${k.name} target gradient`);
    assert.ok(Math.abs((d[5] as number) - 1 / V) < 1e-6, `${k.name} other gradient`);
  }
});

test('crossentropy is stable for huge logits (shift invariance)', () => {
  const N = 2;
  const V = 9;
  const logits = randomArray(N * V, 4, 3);
  const shifted = logits.map((x) => x + 1000);
  const targets = new Int32Array([2, 8]);
  for (const k of [ref, native]) {
    const a = new Float32Array(N);
    const b = new Float32Array(N);
    k.crossentropy_forward(a, logits, targets, N, V);
    k.crossentropy_forward(b, shifted, targets, N, V);
    // Adding 1000 rounds each logit to a multiple of 2^-14, so the losses agree to about 1e-4.
    assertClose(b, a, 2e-4, `${k.name} shifted losses`);
    const da = new Float32Array(N * V);
    const db = new Float32Array(N * V);
    k.crossentropy_backward(da, logits, targets, 1, N, V);
    k.crossentropy_backward(db, shifted, targets, 1, N, V);
    assert.ok(db.every(Number.isFinite), `${k.name} finite gradient`);
    assertClose(db, da, 2e-4, `${k.name} shifted gradient`);
  }
});

test('reference crossentropy backward matches finite differences of the summed loss', () => {
  const N = 3;
  const V = 5;
  const logits = randomArray(N * V, 6, 2);
  const targets = new Int32Array([1, -1, 4]);
  const dloss = 0.5;
  const losses = new Float32Array(N);
  const loss = () => {
    ref.crossentropy_forward(losses, logits, targets, N, V);
    return dloss * losses.reduce((s, v) => s + v, 0);
  };
  const d = new Float32Array(N * V);
  ref.crossentropy_backward(d, logits, targets, dloss, N, V);
  const fd = finiteDifference(loss, logits, 1e-2);
  assertClose(d, fd, 5e-4, 'crossentropy fd');
});

test('crossentropy backward may write dlogits over logits (aliasing)', () => {
  const N = 4;
  const V = 37;
  const logits = randomArray(N * V, 8, 4);
  const targets = randomTargets(N, V, 9);
  for (const k of [ref, native]) {
    const separate = new Float32Array(N * V);
    k.crossentropy_backward(separate, logits, targets, 2, N, V);
    const inPlace = logits.slice();
    k.crossentropy_backward(inPlace, inPlace, targets, 2, N, V);
    assert.deepEqual(inPlace, separate, `${k.name} aliased result`);
  }
});

test('crossentropy refuses a target not below V and short buffers', () => {
  const logits = new Float32Array(6);
  const targets = new Int32Array([1, 3]);
  for (const k of [ref, native]) {
    assert.throws(() => k.crossentropy_forward(new Float32Array(2), logits, targets, 2, 3), RangeError);
    assert.throws(() => k.crossentropy_backward(new Float32Array(6), logits, targets, 1, 2, 3), RangeError);
  }
  const short = new Float32Array(5);
  assert.throws(() => native.crossentropy_forward(new Float32Array(2), short, new Int32Array(2), 2, 3), RangeError);
});
