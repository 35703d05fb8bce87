import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { ParameterStore } from '../../src/nn/parameters.js';
import { AdamW, clipCoefficient, globalGradNorm } from '../../src/train/optimizer.js';
import { learningRateAt, warmupCosineRatio, type WarmupCosineParams } from '../../src/train/schedule.js';
import { assertClose, randomArray } from '../helpers.js';

const near = (a: number, b: number, msg: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${msg}: ${a} vs ${b}`);

test('warmup-cosine schedule at known steps', () => {
  const p: WarmupCosineParams = { warmup_num_steps: 10, total_num_steps: 110, warmup_min_ratio: 0, cos_min_ratio: 0.1, warmup_type: 'linear' };
  near(learningRateAt(1, 2, p), 0, 'first update is the warmup start (DeepSpeed iteration 0)');
  near(learningRateAt(6, 2, p), 1, 'half-way through warmup');
  near(learningRateAt(11, 2, p), 2, 'end of warmup: peak');
  near(learningRateAt(61, 2, p), 2 * (0.1 + 0.9 * 0.5), 'half-way through the cosine');
  near(learningRateAt(111, 2, p), 0.2, 'end: cos_min_ratio * lr');
  near(learningRateAt(500, 2, p), 0.2, 'after the end it stays at the floor');
  near(warmupCosineRatio(0, { ...p, warmup_min_ratio: 0.25 }), 0.25, 'warmup_min_ratio');
  const log = { ...p, warmup_type: 'log' as const };
  near(warmupCosineRatio(0, log), 0, 'log warmup starts at the min ratio');
  near(warmupCosineRatio(9, log), 1, 'log warmup reaches 1 at its last step, as DeepSpeed');
  near(warmupCosineRatio(4, log), Math.log(5) / Math.log(10), 'log warmup in between');
  near(warmupCosineRatio(0, { ...p, warmup_num_steps: 0 }), 1, 'no warmup starts at the peak');
});

test('global gradient norm and clipping coefficient', () => {
  near(globalGradNorm(Float32Array.of(3, 4)), 5, 'norm of (3, 4)');
  near(globalGradNorm(Float32Array.of(1, 2, 2)), 3, 'odd length');
  const g = randomArray(1001, 5);
  let s = 0;
  for (const x of g) s += x * x;
  near(globalGradNorm(g), Math.sqrt(s), 'random vector');
  near(clipCoefficient(5, 1), 1 / (5 + 1e-6), 'above the limit scales down to it');
  near(clipCoefficient(0.5, 1), 1, 'below the limit is untouched');
  near(clipCoefficient(50, 0), 1, 'clipping 0 is off');
});

function store(): ParameterStore {
  const ps = new ParameterStore();
  ps.declare('a.weight', [4, 3], true);
  ps.declare('a.bias', [3], false);
  ps.declare('b.weight', [3, 2], true);
  ps.finalize();
  ps.data.set(randomArray(ps.numel, 1));
  return ps;
}

test('AdamW: weight decay only where info.decay, clipping through gradScale', () => {
  const k = createReferenceKernels();
  const ps = store();
  const before = Float32Array.from(ps.data);
  const opt = new AdamW(k, ps, { betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.5 });
  opt.update(0.1, 1); // zero gradients: only decoupled weight decay moves the parameters
  for (const info of ps.infos) {
    const got = ps.value(info.name);
    const old = before.subarray(info.offset, info.offset + info.size);
    const want = Float32Array.from(old, (x) => (info.decay ? x - 0.1 * 0.5 * x : x));
    assertClose(got, want, 1e-7, info.name);
  }
  assert.equal(opt.step, 1);

  // Clipping by gradScale equals scaling the gradient first.
  const a = store();
  const b = store();
  a.grads.set(randomArray(a.numel, 9, 3));
  b.grads.set(a.grads.map((x) => x * 0.25));
  const oa = new AdamW(k, a, { betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1 });
  const ob = new AdamW(k, b, { betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1 });
  for (let i = 0; i < 3; i++) {
    oa.update(0.01, 0.25);
    ob.update(0.01, 1);
  }
  assertClose(a.data, b.data, 1e-6, 'params');
  assertClose(oa.v, ob.v, 1e-6, 'second moments');
});
