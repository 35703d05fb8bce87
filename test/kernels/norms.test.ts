// LayerNorm and RMSNorm: native against the reference on odd shapes, the reference backward against
// finite differences, and the accumulation convention (backward adds into existing gradients).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kernels } from '../../src/kernels/kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose, dot, finiteDifference, randomArray } from '../helpers.js';

const ref = createReferenceKernels();
const native = createNativeKernels();
const shapes: Array<[number, number]> = [[1, 1], [1, 7], [4, 1], [3, 257], [5, 64], [2, 1000]];
const eps = 1e-5;

/** Random LayerNorm inputs; inp has an offset so the mean subtraction matters. */
function lnInputs(N: number, C: number, seed: number) {
  const inp = randomArray(N * C, seed, 2); // [N,C]
  for (let i = 0; i < inp.length; i++) inp[i] = (inp[i] as number) + 3;
  return {
    inp,
    weight: randomArray(C, seed + 1), // [C]
    bias: randomArray(C, seed + 2), // [C]
    dout: randomArray(N * C, seed + 3), // [N,C]
  };
}

function lnForward(k: Kernels, inp: Float32Array, weight: Float32Array, bias: Float32Array, N: number, C: number) {
  const out = new Float32Array(N * C); // [N,C]
  const mean = new Float32Array(N); // [N]
  const rstd = new Float32Array(N); // [N]
  k.layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps);
  return { out, mean, rstd };
}

function rmsForward(k: Kernels, inp: Float32Array, weight: Float32Array, N: number, C: number) {
  const out = new Float32Array(N * C); // [N,C]
  const rstd = new Float32Array(N); // [N]
  k.rmsnorm_forward(out, rstd, inp, weight, N, C, eps);
  return { out, rstd };
}

test('layernorm: native matches the reference, forward and backward (prefilled gradients)', () => {
  let seed = 1;
  for (const [N, C] of shapes) {
    const { inp, weight, bias, dout } = lnInputs(N, C, (seed += 10));
    const r = lnForward(ref, inp, weight, bias, N, C);
    const n = lnForward(native, inp, weight, bias, N, C);
    assertClose(n.out, r.out, 1e-5, `ln out ${N}x${C}`);
    assertClose(n.mean, r.mean, 1e-5, `ln mean ${N}x${C}`);
    assertClose(n.rstd, r.rstd, 1e-5, `ln rstd ${N}x${C}`);
    const grads = () => ({
      dinp: randomArray(N * C, seed + 5), // [N,C]
      dweight: randomArray(C, seed + 6), // [C]
      dbias: randomArray(C, seed + 7), // [C]
    });
    const gr = grads();
    const gn = grads();
    ref.layernorm_backward(gr.dinp, gr.dweight, gr.dbias, dout, inp, weight, r.mean, r.rstd, N, C);
    native.layernorm_backward(gn.dinp, gn.dweight, gn.dbias, dout, inp, weight, r.mean, r.rstd, N, C);
    assertClose(gn.dinp, gr.dinp, 1e-5, `ln dinp ${N}x${C}`);
    assertClose(gn.dweight, gr.dweight, 1e-5, `ln dweight ${N}x${C}`);
    assertClose(gn.dbias, gr.dbias, 1e-5, `ln dbias ${N}x${C}`);
  }
});

test('rmsnorm: native matches the reference, forward and backward (prefilled gradients)', () => {
  let seed = 2;
  for (const [N, C] of shapes) {
    const { inp, weight, dout } = lnInputs(N, C, (seed += 10));
    const r = rmsForward(ref, inp, weight, N, C);
    const n = rmsForward(native, inp, weight, N, C);
    assertClose(n.out, r.out, 1e-5, `rms out ${N}x${C}`);
    assertClose(n.rstd, r.rstd, 1e-5, `rms rstd ${N}x${C}`);
    const gr = { dinp: randomArray(N * C, seed + 5), dweight: randomArray(C, seed + 6) };
    const gn = { dinp: gr.dinp.slice(), dweight: gr.dweight.slice() };
    ref.rmsnorm_backward(gr.dinp, gr.dweight, dout, inp, weight, r.rstd, N, C);
    native.rmsnorm_backward(gn.dinp, gn.dweight, dout, inp, weight, r.rstd, N, C);
    assertClose(gn.dinp, gr.dinp, 1e-5, `rms dinp ${N}x${C}`);
    assertClose(gn.dweight, gr.dweight, 1e-5, `rms dweight ${N}x${C}`);
  }
});

test('layernorm forward: zero mean, unit variance before the affine part', () => {
  const N = 3;
  const C = 33;
  const { inp } = lnInputs(N, C, 77);
  for (const k of [ref, native]) {
    const { out } = lnForward(k, inp, new Float32Array(C).fill(1), new Float32Array(C), N, C);
    for (let n = 0; n < N; n++) {
      const row = out.subarray(n * C, (n + 1) * C);
      const m = row.reduce((a, b) => a + b, 0) / C;
      const v = row.reduce((a, b) => a + (b - m) * (b - m), 0) / C;
      assert.ok(Math.abs(m) < 1e-5, `${k.name} row ${n} mean ${m}`);
      assert.ok(Math.abs(v - 1) < 1e-3, `${k.name} row ${n} variance ${v}`);
    }
  }
});

test('reference layernorm backward matches finite differences', () => {
  const N = 2;
  const C = 6;
  const { inp, weight, bias, dout } = lnInputs(N, C, 5);
  const loss = () => dot(lnForward(ref, inp, weight, bias, N, C).out, dout);
  const { mean, rstd } = lnForward(ref, inp, weight, bias, N, C);
  const dinp = new Float32Array(N * C);
  const dweight = new Float32Array(C);
  const dbias = new Float32Array(C);
  ref.layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  assertClose(dinp, finiteDifference(loss, inp, 1e-2), 5e-4, 'fd dinp');
  assertClose(dweight, finiteDifference(loss, weight, 1e-2), 5e-4, 'fd dweight');
  assertClose(dbias, finiteDifference(loss, bias, 1e-2), 5e-4, 'fd dbias');
});

test('reference rmsnorm backward matches finite differences', () => {
  const N = 2;
  const C = 6;
  const { inp, weight, dout } = lnInputs(N, C, 6);
  const loss = () => dot(rmsForward(ref, inp, weight, N, C).out, dout);
  const { rstd } = rmsForward(ref, inp, weight, N, C);
  const dinp = new Float32Array(N * C);
  const dweight = new Float32Array(C);
  ref.rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C);
  assertClose(dinp, finiteDifference(loss, inp, 1e-2), 5e-4, 'fd dinp');
  assertClose(dweight, finiteDifference(loss, weight, 1e-2), 5e-4, 'fd dweight');
});

test('norm backward adds into existing gradients (both kernels)', () => {
  const N = 3;
  const C = 17;
  const { inp, weight, bias, dout } = lnInputs(N, C, 9);
  for (const k of [ref, native]) {
    const { mean, rstd } = lnForward(k, inp, weight, bias, N, C);
    const zero = { dinp: new Float32Array(N * C), dweight: new Float32Array(C), dbias: new Float32Array(C) };
    const pre = { dinp: randomArray(N * C, 1), dweight: randomArray(C, 2), dbias: randomArray(C, 3) };
    const acc = { dinp: pre.dinp.slice(), dweight: pre.dweight.slice(), dbias: pre.dbias.slice() };
    k.layernorm_backward(zero.dinp, zero.dweight, zero.dbias, dout, inp, weight, mean, rstd, N, C);
    k.layernorm_backward(acc.dinp, acc.dweight, acc.dbias, dout, inp, weight, mean, rstd, N, C);
    for (const key of ['dinp', 'dweight', 'dbias'] as const) {
      const sum = pre[key].map((v, i) => v + (zero[key][i] as number));
      assertClose(acc[key], sum, 1e-6, `${k.name} layernorm ${key} accumulates`);
    }
    const rs = rmsForward(k, inp, weight, N, C).rstd;
    const z2 = { dinp: new Float32Array(N * C), dweight: new Float32Array(C) };
    const a2 = { dinp: pre.dinp.slice(), dweight: pre.dweight.slice() };
    k.rmsnorm_backward(z2.dinp, z2.dweight, dout, inp, weight, rs, N, C);
    k.rmsnorm_backward(a2.dinp, a2.dweight, dout, inp, weight, rs, N, C);
    for (const key of ['dinp', 'dweight'] as const) {
      const sum = pre[key].map((v, i) => v + (z2[key][i] as number));
      assertClose(a2[key], sum, 1e-6, `${k.name} rmsnorm ${key} accumulates`);
    }
  }
});

test('native norms refuse buffers shorter than the shape', () => {
  const small = new Float32Array(3);
  const big = new Float32Array(16);
  assert.throws(() => native.layernorm_forward(small, big, big, big, big, big, 2, 4, eps), RangeError);
  assert.throws(() => native.rmsnorm_backward(big, big, big, big, small, big, 2, 4), RangeError);
});
