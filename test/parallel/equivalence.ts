// The sharded-equals-unsharded checks every sequence-parallel training test applies, whatever
// backend ran the ranks: the one-worker reference on the whole global batches, and the comparison
// of rank results (loss, every gradient after one step, parameters after every step, replicas
// identical, attention all-to-all bytes equal to the formula).
import assert from 'node:assert/strict';
import { createModel } from '../../src/nn/create-model.js';
import { makeUlyssesPlan } from '../../src/parallel/ulysses/plan.js';
import { ulyssesAttentionBytes } from '../../src/parallel/ulysses/volume.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { Trainer } from '../../src/train/trainer.js';
import { assertClose } from '../helpers.js';
import { caseBatches, caseConfig, ListSource, type ParallelCase } from './fixtures.js';
import type { TrainRankResult } from './train-worker.js';

export interface ReferenceRun {
  loss1: number;
  grads1: Float32Array;
  params: Float32Array;
  losses: number[];
}

/** One worker on the whole global batches: the reference every parallel run must reproduce. */
export function referenceRun(k: ParallelCase): ReferenceRun {
  const c = caseConfig({ ...k, zeroStage: 0 }, 1, 1, k.dp * k.B);
  const kernels = kernelsFor(k.kernels, 1);
  const model = createModel(checkedModelConfig(c), { kernels, seed: c.seed });
  const trainer = new Trainer({
    config: c, model, kernels, data: new ListSource(caseBatches(k)), val: null, dataTokens: 0, runDir: null,
    flopsPerToken: null, peakFlops: null,
  });
  const first = trainer.trainStep();
  const grads1 = Float32Array.from(model.params.grads);
  const losses = [first.loss];
  for (let s = 1; s < k.steps; s++) losses.push(trainer.trainStep().loss);
  return { loss1: first.loss, grads1, params: Float32Array.from(model.params.data), losses };
}

/** Asserts that the ranks of case k (results in rank order) trained exactly like one worker. */
export function assertEqualsOneWorker(k: ParallelCase, ranks: readonly TrainRankResult[], ref: ReferenceRun = referenceRun(k)): void {
  assert.equal(ranks.length, k.sp * k.dp, 'one result per rank');
  const r0 = ranks[0] as TrainRankResult;
  assert.ok(Math.abs(r0.loss1 - ref.loss1) <= 1e-5 * Math.abs(ref.loss1), `loss after one step: ${r0.loss1} vs ${ref.loss1}`);
  for (const r of ranks) assert.deepEqual(r.losses, r0.losses, 'every rank reports the same losses');
  const model = createModel(checkedModelConfig(caseConfig(k, 1, 1, k.B)), { kernels: kernelsFor(k.kernels, 1), seed: 0 });
  const C = model.config.d_model;
  for (const info of model.params.infos) {
    const at = (a: Float32Array, from = 0, to = info.size): Float32Array => a.subarray(info.offset + from, info.offset + to);
    assertClose(at(r0.grads1), at(ref.grads1), 1e-5, `gradient of ${info.name} after one step`);
    if (!info.name.endsWith('attn.c_attn.bias')) {
      assertClose(at(r0.params), at(ref.params), 1e-5, `${info.name} after ${k.steps} AdamW steps`);
      continue;
    }
    // A key bias shifts every score of a query equally, so softmax makes its gradient exactly zero:
    // it holds only rounding noise, which AdamW scales up, so it is checked to stay at noise level.
    assertClose(at(r0.params, 0, C), at(ref.params, 0, C), 1e-5, `${info.name} (query part) after ${k.steps} steps`);
    assertClose(at(r0.params, 2 * C, 3 * C), at(ref.params, 2 * C, 3 * C), 1e-5, `${info.name} (value part) after ${k.steps} steps`);
    for (const [who, p] of [['parallel', r0.params], ['one worker', ref.params]] as const) {
      const kb = at(p, C, 2 * C);
      assert.ok(kb.every((x) => Math.abs(x) < 1e-4), `${who}: key bias stays at noise level: max ${Math.max(...kb.map(Math.abs))}`);
    }
  }
  assertClose(r0.losses, ref.losses, 1e-5, 'losses of every step');
  for (const r of ranks) assert.equal(r.paramsAbsSum, r0.paramsAbsSum, 'replicas stay bit-identical on every rank');
  if (k.sp > 1) {
    const mc = model.config;
    const plan = makeUlyssesPlan(k.sp, k.N, mc.n_heads, mc.n_kv_heads);
    const v = ulyssesAttentionBytes(plan, 0, k.B, mc.d_model / mc.n_heads, k.docs);
    const want = mc.n_layers * k.accum * (v.forward.sent + v.backward.sent);
    assert.equal(r0.a2aBytes1, want, 'attention all-to-all bytes sent by rank 0 in step 1 (layers x micro-batches x formula)');
  }
}
