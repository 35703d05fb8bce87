// Sequence-parallel training equals one-worker training: for GPT and Llama, P in {2, 3, 4, 8}
// worker threads with odd and uneven head counts, GQA with fewer kv heads than ranks, sequence
// lengths P does not divide, document masks, ignored targets and B = 2, the loss and every
// parameter's gradient after one step agree with one worker on the whole sequences within
// relative L2 1e-5, and so do the parameters after ten AdamW steps (with clipping). dp × sp runs
// equal one worker with dp × B rows. The attention all-to-all bytes of a step equal the formula.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { createModel } from '../../src/nn/create-model.js';
import { makeUlyssesPlan } from '../../src/parallel/ulysses/plan.js';
import { ulyssesAttentionBytes } from '../../src/parallel/ulysses/volume.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { Trainer } from '../../src/train/trainer.js';
import { assertClose } from '../helpers.js';
import { caseBatches, caseConfig, ListSource, type ParallelCase } from './fixtures.js';
import type { TrainRankResult } from './train-worker.js';

const entry = new URL('./train-worker.js', import.meta.url);

/** One worker on the whole global batches: the reference every parallel run must reproduce. */
function reference(k: ParallelCase): { loss1: number; grads1: Float32Array; params: Float32Array; losses: number[] } {
  const c = caseConfig(k, 1, 1, k.dp * k.B);
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

const base = { B: 2, dp: 1, accum: 1, docs: true, kernels: 'native', steps: 10 } as const;
const cases: ParallelCase[] = [
  { ...base, label: 'GPT H=6 N=13 P=2', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 2 },
  { ...base, label: 'GPT H=6 N=13 P=3', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 3 },
  { ...base, label: 'GPT H=6 N=13 P=4 (uneven heads)', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 4 },
  { ...base, label: 'GPT H=8 N=20 P=8', arch: 'gpt', dModel: 32, heads: 8, kvHeads: 8, N: 20, sp: 8, steps: 4 },
  { ...base, label: 'GPT H=3 N=12 P=3 reference kernels', arch: 'gpt', dModel: 24, heads: 3, kvHeads: 3, N: 12, sp: 3, kernels: 'reference', steps: 3 },
  { ...base, label: 'Llama H=6 Hkv=2 N=14 P=2', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 14, sp: 2 },
  { ...base, label: 'Llama H=6 Hkv=2 N=13 P=3 (kv shared by ranks)', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 13, sp: 3 },
  { ...base, label: 'Llama H=6 Hkv=2 N=15 P=4', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 15, sp: 4 },
  { ...base, label: 'Llama H=4 Hkv=2 N=12 P=4', arch: 'llama', dModel: 32, heads: 4, kvHeads: 2, N: 12, sp: 4 },
  { ...base, label: 'Llama H=8 Hkv=2 N=11 P=3 (kv expanded on a rank)', arch: 'llama', dModel: 32, heads: 8, kvHeads: 2, N: 11, sp: 3 },
  { ...base, label: 'GPT dp=2 x sp=2, 2 micro-batches', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 2, dp: 2, accum: 2, steps: 5 },
  { ...base, label: 'Llama dp=3 x sp=1 without documents', arch: 'llama', dModel: 32, heads: 4, kvHeads: 2, N: 12, sp: 1, dp: 3, docs: false, steps: 5 },
];

for (const k of cases) {
  test(`sequence-parallel training equals one worker: ${k.label}`, { timeout: 60_000 }, async () => {
    const ranks = await launchThreads<TrainRankResult>(k.sp * k.dp, entry, k);
    const ref = reference(k);
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
  });
}
