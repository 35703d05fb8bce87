// GELU (tanh approximation) and SwiGLU: native against the reference on odd lengths and extreme
// inputs, the reference against known values and finite differences, and gradient accumulation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose, finiteDifference, randomArray } from '../helpers.js';

const ref = createReferenceKernels();
const native = createNativeKernels();
const lengths = [1, 7, 33, 257, 1000];

/** GELU "gelu_new" written out in float64, independently of the kernels. */
function geluExact(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

test('gelu matches the tanh-approximation formula, including far tails', () => {
  const inp = new Float32Array([-100, -20, -6, -1, -0.5, 0, 0.25, 1, 3, 20, 100]);
  const expected = Float64Array.from(inp, geluExact);
  for (const k of [ref, native]) {
    const out = new Float32Array(inp.length);
    k.gelu_forward(out, inp, inp.length);
    for (let i = 0; i < inp.length; i++) {
      const e = expected[i] as number;
      assert.ok(Math.abs((out[i] as number) - e) <= 1e-6 * Math.max(1, Math.abs(e)), `${k.name} gelu(${inp[i]})`);
    }
  }
});

test('gelu: native matches the reference, forward and backward (prefilled gradient)', () => {
  let seed = 1;
  for (const n of lengths) {
    const inp = randomArray(n, (seed += 10), 6); // [n]
    const dout = randomArray(n, seed + 1); // [n]
    const outR = new Float32Array(n);
    const outN = new Float32Array(n);
    ref.gelu_forward(outR, inp, n);
    native.gelu_forward(outN, inp, n);
    assertClose(outN, outR, 1e-5, `gelu out n=${n}`);
    const dR = randomArray(n, seed + 2); // [n]
    const dN = dR.slice();
    ref.gelu_backward(dR, dout, inp, n);
    native.gelu_backward(dN, dout, inp, n);
    assertClose(dN, dR, 1e-5, `gelu dinp n=${n}`);
  }
});

test('swiglu: native matches the reference, forward and backward (prefilled gradients)', () => {
  let seed = 2;
  for (const n of lengths) {
    const gate = randomArray(n, (seed += 10), 8); // [n]
    const up = randomArray(n, seed + 1, 2); // [n]
    const dout = randomArray(n, seed + 2); // [n]
    const outR = new Float32Array(n);
    const outN = new Float32Array(n);
    ref.swiglu_forward(outR, gate, up, n);
    native.swiglu_forward(outN, gate, up, n);
    assertClose(outN, outR, 1e-5, `swiglu out n=${n}`);
    const gR = { dgate: randomArray(n, seed + 3), dup: randomArray(n, seed + 4) };
    const gN = { dgate: gR.dgate.slice(), dup: gR.dup.slice() };
    ref.swiglu_backward(gR.dgate, gR.dup, dout, gate, up, n);
    native.swiglu_backward(gN.dgate, gN.dup, dout, gate, up, n);
    assertClose(gN.dgate, gR.dgate, 1e-5, `swiglu dgate n=${n}`);
    assertClose(gN.dup, gR.dup, 1e-5, `swiglu dup n=${n}`);
  }
});

test('swiglu stays finite and exact for large gates', () => {
  const gate = new Float32Array([-200, -100, -30, 30, 100, 200]);
  const up = new Float32Array(gate.length).fill(2);
  for (const k of [ref, native]) {
    const out = new Float32Array(gate.length);
    k.swiglu_forward(out, gate, up, gate.length);
    const dgate = new Float32Array(gate.length);
    const dup = new Float32Array(gate.length);
    k.swiglu_backward(dgate, dup, new Float32Array(gate.length).fill(1), gate, up, gate.length);
    for (let i = 0; i < gate.length; i++) {
      const g = gate[i] as number;
      const silu = g / (1 + Math.exp(-g));
      assert.ok(Math.abs((out[i] as number) - 2 * silu) <= 1e-6 * Math.max(1, Math.abs(silu)), `${k.name} out(${g})`);
      assert.ok(Number.isFinite(dgate[i]) && Number.isFinite(dup[i]), `${k.name} finite grads at ${g}`);
      assert.ok(Math.abs((dup[i] as number) - silu) <= 1e-6 * Math.max(1, Math.abs(silu)), `${k.name} dup(${g})`);
    }
  }
});

test('reference gelu and swiglu backward match finite differences', () => {
  const n = 40;
  const inp = randomArray(n, 3, 4);
  const dout = randomArray(n, 4);
  const out = new Float32Array(n);
  const geluLoss = () => {
    ref.gelu_forward(out, inp, n);
    return out.reduce((s, v, i) => s + v * (dout[i] as number), 0);
  };
  const dinp = new Float32Array(n);
  ref.gelu_backward(dinp, dout, inp, n);
  assertClose(dinp, finiteDifference(geluLoss, inp, 1e-2), 5e-4, 'gelu fd');

  const gate = randomArray(n, 5, 4);
  const up = randomArray(n, 6, 2);
  const swigluLoss = () => {
    ref.swiglu_forward(out, gate, up, n);
    return out.reduce((s, v, i) => s + v * (dout[i] as number), 0);
  };
  const dgate = new Float32Array(n);
  const dup = new Float32Array(n);
  ref.swiglu_backward(dgate, dup, dout, gate, up, n);
  assertClose(dgate, finiteDifference(swigluLoss, gate, 1e-2), 5e-4, 'swiglu dgate fd');
  assertClose(dup, finiteDifference(swigluLoss, up, 1e-2), 5e-4, 'swiglu dup fd');
});

test('activation backward adds into existing gradients (both kernels)', () => {
  const n = 19;
  const inp = randomArray(n, 7, 3);
  const up = randomArray(n, 8);
  const dout = randomArray(n, 9);
  const pre = randomArray(n, 10);
  for (const k of [ref, native]) {
    const zero = new Float32Array(n);
    const acc = pre.slice();
    k.gelu_backward(zero, dout, inp, n);
    k.gelu_backward(acc, dout, inp, n);
    assertClose(acc, pre.map((v, i) => v + (zero[i] as number)), 1e-6, `${k.name} gelu accumulates`);
    const z = { g: new Float32Array(n), u: new Float32Array(n) };
    const a = { g: pre.slice(), u: pre.slice() };
    k.swiglu_backward(z.g, z.u, dout, inp, up, n);
    k.swiglu_backward(a.g, a.u, dout, inp, up, n);
    assertClose(a.g, pre.map((v, i) => v + (z.g[i] as number)), 1e-6, `${k.name} swiglu dgate accumulates`);
    assertClose(a.u, pre.map((v, i) => v + (z.u[i] as number)), 1e-6, `${k.name} swiglu dup accumulates`);
  }
});

test('native activations refuse buffers shorter than n', () => {
  assert.throws(() => native.gelu_forward(new Float32Array(3), new Float32Array(4), 4), RangeError);
  const [four, two] = [new Float32Array(4), new Float32Array(2)];
  assert.throws(() => native.swiglu_forward(four, four, two, 4), RangeError);
});
