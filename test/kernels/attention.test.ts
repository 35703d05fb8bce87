// Attention kernels: the dense reference against hand values and finite differences, then the
// fused native kernels against the reference (relative L2 <= 1e-5 on out, lse, dq, dk, dv).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttentionMaskSpec, AttentionShape, Kernels } from '../../src/kernels/kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels, setNativeThreads } from '../../src/kernels/native/native-kernels.js';
import { loadNativeAddon } from '../../src/kernels/native/binding.js';
import { assertClose, randomArray } from '../helpers.js';

const ref = createReferenceKernels();

interface Case {
  shape: AttentionShape;
  mask: AttentionMaskSpec;
  q: Float32Array; // [B,T,H,D]
  k: Float32Array; // [B,T,Hkv,D]
  v: Float32Array; // [B,T,Hkv,D]
  dout: Float32Array; // [B,T,H,D]
}

/** Random inputs; docLens splits each row of T tokens into documents of these lengths (repeated). */
function makeCase(
  shape: AttentionShape, causal: boolean, seed: number, docLens: number[] | null = null, qScale = 2,
): Case {
  const { B, T, H, Hkv, D } = shape;
  let docIds: Int32Array | null = null;
  if (docLens) {
    docIds = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let id = 10 * b;
      let left = docLens[0] as number;
      for (let t = 0, n = 0; t < T; t++) {
        if (left === 0) {
          n++;
          id++;
          left = docLens[n % docLens.length] as number;
        }
        docIds[b * T + t] = id;
        left--;
      }
    }
  }
  // qScale 2 gives peaked softmax rows, so masking and the running max matter.
  return {
    shape,
    mask: { causal, docIds },
    q: randomArray(B * T * H * D, seed, qScale),
    k: randomArray(B * T * Hkv * D, seed + 1, 2),
    v: randomArray(B * T * Hkv * D, seed + 2),
    dout: randomArray(B * T * H * D, seed + 3),
  };
}

interface Result {
  out: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** Forward then backward; gradient buffers start as NaN to prove they are overwritten. */
function run(kern: Kernels, c: Case): Result {
  const { B, T, H, Hkv, D } = c.shape;
  const scale = 1 / Math.sqrt(D);
  const out = new Float32Array(B * T * H * D).fill(NaN);
  const lse = new Float32Array(B * H * T).fill(NaN);
  kern.attention_forward(out, lse, c.q, c.k, c.v, c.shape, c.mask, scale);
  const dq = new Float32Array(B * T * H * D).fill(NaN);
  const dk = new Float32Array(B * T * Hkv * D).fill(NaN);
  const dv = new Float32Array(B * T * Hkv * D).fill(NaN);
  kern.attention_backward(dq, dk, dv, c.dout, c.q, c.k, c.v, out, lse, c.shape, c.mask, scale);
  return { out, lse, dq, dk, dv };
}

test('reference attention: one key returns its value, uniform scores average the values', () => {
  const shape = { B: 1, T: 3, H: 1, Hkv: 1, D: 2 };
  const q = new Float32Array([0.5, -1, 0, 0, 0, 0]);
  const k = new Float32Array([2, 1, 0, 0, 0, 0]);
  const v = new Float32Array([1, 2, 3, 4, 5, 6]);
  const out = new Float32Array(6);
  const lse = new Float32Array(3);
  ref.attention_forward(out, lse, q, k, v, shape, { causal: true, docIds: null }, 0.5);
  // Row 0 sees key 0 only: out = v0, lse = 0.5 * q0.k0 = 0. Row 2 (q = 0) sees 3 equal scores.
  assertClose(out, [1, 2, 2, 3, 3, 4], 1e-7, 'out');
  assertClose(lse, [0, Math.log(2), Math.log(3)], 1e-7, 'lse');
});

test('reference attention backward matches central finite differences', () => {
  const shape = { B: 2, T: 5, H: 4, Hkv: 2, D: 3 };
  const c = makeCase(shape, true, 7, [2, 3]);
  const { B, T, H, D } = shape;
  const scale = 0.7;
  const out = new Float32Array(B * T * H * D);
  const lse = new Float32Array(B * H * T);
  // loss = sum(out * dout), so d loss / d out = dout.
  const loss = (): number => {
    ref.attention_forward(out, lse, c.q, c.k, c.v, shape, c.mask, scale);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += (out[i] as number) * (c.dout[i] as number);
    return s;
  };
  loss();
  const dq = new Float32Array(c.q.length);
  const dk = new Float32Array(c.k.length);
  const dv = new Float32Array(c.v.length);
  ref.attention_backward(dq, dk, dv, c.dout, c.q, c.k, c.v, out, lse, shape, c.mask, scale);
  for (const [name, x, grad] of [['dq', c.q, dq], ['dk', c.k, dk], ['dv', c.v, dv]] as const) {
    const fd = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i] as number;
      x[i] = x0 + 1e-2;
      const hi = x[i] as number; // the float32 value actually used
      const lp = loss();
      x[i] = x0 - 1e-2;
      const lo = x[i] as number;
      const lm = loss();
      x[i] = x0;
      fd[i] = (lp - lm) / (hi - lo);
    }
    assertClose(grad, fd, 2e-4, name);
  }
});

// Native kernels: loaded lazily so the reference tests above run without the addon.
let nat: Kernels | undefined;
function native(): Kernels {
  nat ??= createNativeKernels();
  return nat;
}

function compare(c: Case, label: string): void {
  const want = run(ref, c);
  const got = run(native(), c);
  for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
    if (want[key].every((x) => x === 0)) {
      // An exactly zero gradient (T = 1: dq = P (dP - dP) = 0) has no relative error; bound it absolutely.
      const worst = got[key].reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      assert.ok(worst <= 1e-6, `${label} ${key}: expected zeros, got |x| up to ${worst}`);
    } else {
      assertClose(got[key], want[key], 1e-5, `${label} ${key}`);
    }
  }
}

const cases: Array<[string, AttentionShape, boolean, number[] | null]> = [
  ['T=1', { B: 1, T: 1, H: 2, Hkv: 2, D: 8 }, true, null],
  ['T=37 D=17 non-causal', { B: 1, T: 37, H: 2, Hkv: 1, D: 17 }, false, null],
  ['D=1 causal', { B: 1, T: 70, H: 2, Hkv: 2, D: 1 }, true, null],
  ['B=2 T=150 D=32 causal', { B: 2, T: 150, H: 2, Hkv: 2, D: 32 }, true, null],
  ['T=128 D=64 non-causal', { B: 1, T: 128, H: 2, Hkv: 2, D: 64 }, false, null],
  ['GQA H=4 Hkv=2 causal', { B: 1, T: 100, H: 4, Hkv: 2, D: 16 }, true, null],
  ['GQA H=6 Hkv=1 non-causal', { B: 2, T: 90, H: 6, Hkv: 1, D: 24 }, false, null],
  ['docIds causal (tile-spanning documents)', { B: 2, T: 300, H: 2, Hkv: 1, D: 32 }, true, [130, 3, 90, 77]],
  ['docIds non-causal, many short documents', { B: 1, T: 200, H: 2, Hkv: 2, D: 20 }, false, [5, 17, 1, 40]],
  ['D=80 causal', { B: 1, T: 65, H: 1, Hkv: 1, D: 80 }, true, null],
  // Longer than one forward work item (16 tiles of 64 queries) and several backward key blocks.
  ['T=1100 docIds causal', { B: 1, T: 1100, H: 2, Hkv: 1, D: 8 }, true, [600, 500]],
];

for (const [label, shape, causal, docs] of cases) {
  test(`native attention matches the reference: ${label}`, () => {
    compare(makeCase(shape, causal, 100 + shape.T, docs), label);
  });
}

test('native attention matches the reference on very peaked rows (most exp underflow to 0)', () => {
  // Scores span about +-100, so about a fifth of the weights underflow to exactly 0 in fp32.
  compare(makeCase({ B: 1, T: 150, H: 2, Hkv: 2, D: 32 }, true, 77, null, 40), 'peaked');
});

test('native attention: 1 and 2 threads give identical results', () => {
  const addon = loadNativeAddon();
  const before = addon.getNumThreads();
  try {
    // Hkv = 1, B = 1 makes the 2-thread backward split key and query tiles; Hkv = 2 splits kv heads.
    for (const [shape, docs] of [
      [{ B: 1, T: 200, H: 2, Hkv: 1, D: 32 }, [70, 130]],
      [{ B: 1, T: 160, H: 4, Hkv: 2, D: 64 }, null],
    ] as const) {
      const c = makeCase(shape, true, 5, docs === null ? null : [...docs]);
      setNativeThreads(1, 1);
      const one = run(native(), c);
      setNativeThreads(2, 1);
      const two = run(native(), c);
      for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const) assert.deepEqual(two[key], one[key], key);
    }
  } finally {
    setNativeThreads(before.kernelThreads, before.blasThreads);
  }
});

test('native attention backward: a row with lse = -Infinity (sees no key) adds nothing and makes no NaN', () => {
  // Unreachable through forward (every query sees itself under causal and document masks), so the
  // saved state is written by hand: row 3 of head 0 is a query that saw nothing.
  const shape = { B: 1, T: 6, H: 1, Hkv: 1, D: 4 };
  const c = makeCase(shape, false, 9);
  const { out, lse } = run(native(), c);
  const row = 3;
  lse[row] = -Infinity;
  out.fill(0, row * 4, row * 4 + 4);
  const dq = new Float32Array(24).fill(NaN);
  const dk = new Float32Array(24).fill(NaN);
  const dv = new Float32Array(24).fill(NaN);
  native().attention_backward(dq, dk, dv, c.dout, c.q, c.k, c.v, out, lse, shape, c.mask, 0.5);
  for (const [name, g] of [['dq', dq], ['dk', dk], ['dv', dv]] as const) {
    assert.ok(g.every(Number.isFinite), `${name} has a non-finite value`);
  }
  assert.deepEqual([...dq.subarray(row * 4, row * 4 + 4)], [0, 0, 0, 0]);
  // dv then equals the reference computed without row 3's output gradient.
  const dout = c.dout.slice();
  dout.fill(0, row * 4, row * 4 + 4);
  const want = run(ref, { ...c, dout });
  assertClose(dv, want.dv, 1e-5, 'dv without the empty row');
});

test('native attention refuses a head count that is not a multiple of Hkv', () => {
  const c = makeCase({ B: 1, T: 4, H: 3, Hkv: 2, D: 4 }, false, 1);
  assert.throws(() => run(native(), c), /multiple of Hkv/);
});
