// LocalAttention: the attention core over a Kernels object uses scale 1/sqrt(D), keeps what
// backward needs, and gives the same numbers with the reference and the native kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { AttentionMaskSpec, AttentionShape } from '../../src/kernels/kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose, randomArray } from '../helpers.js';

const shape: AttentionShape = { B: 2, T: 70, H: 4, Hkv: 2, D: 16 };
const { B, T, H, Hkv, D } = shape;
const q = randomArray(B * T * H * D, 1); // [B,T,H,D]
const k = randomArray(B * T * Hkv * D, 2); // [B,T,Hkv,D]
const v = randomArray(B * T * Hkv * D, 3); // [B,T,Hkv,D]
const dout = randomArray(B * T * H * D, 4); // [B,T,H,D]
const docIds = new Int32Array(B * T).map((_, i) => (i % T < 30 ? 0 : 1)); // [B,T]
const mask: AttentionMaskSpec = { causal: true, docIds };

function grads(core: LocalAttention): { out: Float32Array; dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const out = new Float32Array(B * T * H * D);
  const saved = core.forward(out, q, k, v, shape, mask);
  const dq = new Float32Array(B * T * H * D).fill(NaN);
  const dk = new Float32Array(B * T * Hkv * D).fill(NaN);
  const dv = new Float32Array(B * T * Hkv * D).fill(NaN);
  core.backward(dq, dk, dv, dout, saved);
  return { out, dq, dk, dv };
}

test('LocalAttention equals the kernels called with scale 1/sqrt(D)', () => {
  const kern = createReferenceKernels();
  const got = grads(new LocalAttention(kern));
  const scale = 1 / Math.sqrt(D);
  const out = new Float32Array(B * T * H * D);
  const lse = new Float32Array(B * H * T);
  kern.attention_forward(out, lse, q, k, v, shape, mask, scale);
  const dq = new Float32Array(B * T * H * D);
  const dk = new Float32Array(B * T * Hkv * D);
  const dv = new Float32Array(B * T * Hkv * D);
  kern.attention_backward(dq, dk, dv, dout, q, k, v, out, lse, shape, mask, scale);
  assert.deepEqual(got.out, out);
  assert.deepEqual(got.dq, dq);
  assert.deepEqual(got.dk, dk);
  assert.deepEqual(got.dv, dv);
});

test('LocalAttention on native kernels matches the reference kernels', () => {
  const want = grads(new LocalAttention(createReferenceKernels()));
  const got = grads(new LocalAttention(createNativeKernels()));
  for (const key of ['out', 'dq', 'dk', 'dv'] as const) assertClose(got[key], want[key], 1e-5, key);
});

test('LocalAttention backward uses the state saved by its own forward', () => {
  const core = new LocalAttention(createReferenceKernels());
  const out = new Float32Array(B * T * H * D);
  const saved = core.forward(out, q, k, v, { ...shape }, { ...mask });
  // Two forwards in flight (as with gradient accumulation) keep separate state.
  const out2 = new Float32Array(B * T * H * D);
  const q2 = randomArray(B * T * H * D, 9);
  core.forward(out2, q2, k, v, shape, mask);
  const dq = new Float32Array(B * T * H * D);
  const dk = new Float32Array(B * T * Hkv * D);
  const dv = new Float32Array(B * T * Hkv * D);
  core.backward(dq, dk, dv, dout, saved);
  assertClose(dq, grads(core).dq, 0, 'dq of the first forward');
  const other = new LocalAttention(createReferenceKernels());
  assert.throws(() => other.backward(dq, dk, dv, dout, saved), /another attention core/);
  assert.throws(() => core.backward(dq.subarray(1), dk, dv, dout, saved), /dq has/);
});
