// The sharded-equals-unsharded checks of ring and hybrid training, whatever backend ran the ranks:
// loss and every gradient after one step, parameters and losses after every step against one
// worker on the whole global batches (relative L2 1e-5), replicas identical, and the attention
// bytes of step 1 equal to layers x micro-batches x ringAttentionBytes / hybridAttentionBytes.
import assert from 'node:assert/strict';
import { createModel } from '../../src/nn/create-model.js';
import { hybridAttentionBytes, ringAttentionBytes } from '../../src/parallel/ring/volume.js';
import { ringSizeOf } from '../../src/train/config.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { assertClose } from '../helpers.js';
import { referenceRun } from './equivalence.js';
import { ringCaseConfig, type RingTrainCase } from './ring-train-worker.js';
import type { TrainRankResult } from './train-worker.js';

export function assertRingEqualsOneWorker(k: RingTrainCase, ranks: readonly TrainRankResult[]): void {
  const ref = referenceRun(k);
  assert.equal(ranks.length, k.sp * k.dp, 'one result per rank');
  const r0 = ranks[0] as TrainRankResult;
  assert.ok(Math.abs(r0.loss1 - ref.loss1) <= 1e-5 * Math.abs(ref.loss1), `loss after one step: ${r0.loss1} vs ${ref.loss1}`);
  for (const r of ranks) assert.deepEqual(r.losses, r0.losses, 'every rank reports the same losses');
  const c = ringCaseConfig(k);
  const mc = checkedModelConfig(c);
  const model = createModel(mc, { kernels: kernelsFor(k.kernels, 1), seed: 0 });
  const C = mc.d_model;
  for (const info of model.params.infos) {
    const at = (a: Float32Array, from = 0, to = info.size): Float32Array => a.subarray(info.offset + from, info.offset + to);
    assertClose(at(r0.grads1), at(ref.grads1), 1e-5, `gradient of ${info.name} after one step`);
    // The key bias's gradient is exactly zero up to rounding (softmax is shift-invariant), which
    // AdamW amplifies, so only the query and value parts of c_attn.bias are compared after steps.
    const parts: [number, number][] = info.name.endsWith('attn.c_attn.bias') ? [[0, C], [2 * C, 3 * C]] : [[0, info.size]];
    for (const [a, b] of parts) assertClose(at(r0.params, a, b), at(ref.params, a, b), 1e-5, `${info.name} [${a}, ${b}) after ${k.steps} steps`);
  }
  assertClose(r0.losses, ref.losses, 1e-5, 'losses of every step');
  for (const r of ranks) assert.equal(r.paramsAbsSum, r0.paramsAbsSum, 'replicas stay bit-identical on every rank');
  const R = ringSizeOf(c);
  const U = k.sp / R;
  const D = mc.d_model / mc.n_heads;
  const v = U === 1
    ? ringAttentionBytes(k.B, k.N, R, mc.n_heads, mc.n_kv_heads, D)
    : hybridAttentionBytes(k.B, k.N, U, R, mc.n_heads, mc.n_kv_heads, D, 4, 0);
  const want = mc.n_layers * k.accum * (v.forward.sent + v.backward.sent);
  assert.equal(r0.a2aBytes1, want, 'attention bytes sent by rank 0 in step 1 (layers x micro-batches x formula)');
}
