// AdamW: the reference against the formula of kernels.ts written out in float64, a hand-checked first
// step, and native against the reference over several steps on odd lengths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kernels } from '../../src/kernels/kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose, randomArray } from '../helpers.js';

const ref = createReferenceKernels();
const native = createNativeKernels();

interface Hyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  gradScale: number;
}
const hp: Hyper = { lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradScale: 0.5 };

interface State {
  params: Float32Array; // [n]
  grads: Float32Array; // [n]
  m: Float32Array; // [n]
  v: Float32Array; // [n]
}

function update(k: Kernels, s: State, n: number, step: number): void {
  k.adamw_update(s.params, s.grads, s.m, s.v, n, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weightDecay, step, hp.gradScale);
}

/** State of n parameters; m and v start nonzero so the moment updates matter. */
function state(n: number, seed: number): State {
  return {
    params: randomArray(n, seed), // [n]
    grads: randomArray(n, seed + 1, 3), // [n]
    m: randomArray(n, seed + 2, 0.1), // [n]
    v: randomArray(n, seed + 3, 0.1).map(Math.abs), // [n]
  };
}

test('reference adamw follows the formula of kernels.ts (bias correction 1 - beta^step)', () => {
  const n = 9;
  for (const step of [1, 2, 7, 1000]) {
    const s = state(n, step);
    const before = { params: s.params.slice(), m: s.m.slice(), v: s.v.slice() };
    update(ref, s, n, step);
    const dParams = new Float64Array(n);
    const expDelta = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const g = (s.grads[i] as number) * hp.gradScale;
      const m = hp.beta1 * (before.m[i] as number) + (1 - hp.beta1) * g;
      const v = hp.beta2 * (before.v[i] as number) + (1 - hp.beta2) * g * g;
      const mhat = m / (1 - hp.beta1 ** step);
      const vhat = v / (1 - hp.beta2 ** step);
      const p = before.params[i] as number;
      expDelta[i] = -hp.lr * (mhat / (Math.sqrt(vhat) + hp.eps) + hp.weightDecay * p);
      dParams[i] = (s.params[i] as number) - p;
      assert.ok(Math.abs((s.m[i] as number) - m) <= 1e-7 * Math.max(1, Math.abs(m)), `m[${i}] step ${step}`);
      assert.ok(Math.abs((s.v[i] as number) - v) <= 1e-7 * Math.max(1, Math.abs(v)), `v[${i}] step ${step}`);
    }
    assertClose(dParams, expDelta, 1e-5, `parameter change at step ${step}`);
  }
});

test('first adamw step from zero moments moves each parameter by lr * sign(grad)', () => {
  const grads = new Float32Array([2, -0.5, 1e-3]);
  for (const k of [ref, native]) {
    const params = new Float32Array([1, 1, 1]);
    k.adamw_update(params, grads, new Float32Array(3), new Float32Array(3), 3, 0.01, 0.9, 0.999, 1e-12, 0, 1, 1);
    assertClose(params, [0.99, 1.01, 0.99], 1e-6, `${k.name} first step`);
  }
});

test('adamw: native matches the reference over three steps', () => {
  let seed = 1;
  for (const n of [1, 7, 257, 1000]) {
    const r = state(n, (seed += 10));
    const nat = { params: r.params.slice(), grads: r.grads, m: r.m.slice(), v: r.v.slice() };
    for (let step = 1; step <= 3; step++) {
      const before = r.params.slice();
      for (const [k, s] of [[ref, r], [native, nat]] as const) {
        update(k, s, n, step);
      }
      assertClose(nat.params, r.params, 1e-5, `params n=${n} step ${step}`);
      assertClose(nat.m, r.m, 1e-5, `m n=${n} step ${step}`);
      assertClose(nat.v, r.v, 1e-5, `v n=${n} step ${step}`);
      // The change itself, so a wrong small update cannot hide behind the size of the parameters.
      const dR = r.params.map((p, i) => p - (before[i] as number));
      const dN = nat.params.map((p, i) => p - (before[i] as number));
      assertClose(dN, dR, 1e-5, `update n=${n} step ${step}`);
      r.params.set(nat.params);
    }
  }
});

test('adamw refuses step < 1 and short buffers', () => {
  const a = new Float32Array(4);
  for (const k of [ref, native]) {
    assert.throws(() => k.adamw_update(a, a, a, a, 4, 0.1, 0.9, 0.99, 1e-8, 0, 0, 1), RangeError);
  }
  assert.throws(() => native.adamw_update(a, new Float32Array(3), a, a, 4, 0.1, 0.9, 0.99, 1e-8, 0, 1, 1), RangeError);
});
