// Megatron-SP GPT and Llama equal the one-worker models: for P in {2, 3, 4} worker threads, B = 2,
// even and uneven token splits, with and without document masks, GQA with kv heads split over the
// ranks and an untied lm_head, the summed loss of the ranks and every gradient (the sharded slices
// placed back, the replicated parameters' per-rank shares summed) agree with one worker on the
// whole batch within relative L2 1e-5; the bytes each pass moved equal megatronSpLayerBytes times
// the layers (plus the forward's one all-gather of document ids, and of positions for Llama); the
// parameters and activation bytes a rank holds equal the planning formulas.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commBytes } from '../../src/dist/accounting.js';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { createModel } from '../../src/nn/create-model.js';
import { ParameterStore } from '../../src/nn/parameters.js';
import { TpLayout } from '../../src/parallel/megatron-sp/tp-layout.js';
import { megatronSpActivationBytes, megatronSpLocalNumel } from '../../src/parallel/megatron-sp/memory.js';
import { megatronSpLayerBytes } from '../../src/parallel/megatron-sp/volume.js';
import { splitCounts } from '../../src/parallel/ulysses/plan.js';
import { buildConfig, modelConfigOf } from '../../src/train/config.js';
import { planMemory } from '../../src/train/dry-run.js';
import { kernelsFor } from '../../src/train/run.js';
import { countTargets } from '../../src/train/trainer.js';
import { assertClose } from '../helpers.js';
import { globalBatches } from './fixtures.js';
import { tinyConfig, type TpModelCase } from './megatron-cases.js';
import type { TpModelResult } from './megatron-model-worker.js';

const entry = new URL('./megatron-model-worker.js', import.meta.url);
const gpt = { arch: 'gpt', B: 2, heads: 12, kvHeads: 12, dModel: 24, dFf: 96, tie: true, docs: true, kernels: 'native' } as const;
const llama = { ...gpt, arch: 'llama' } as const;
const cases: TpModelCase[] = [
  { ...gpt, label: 'GPT P=2 N=12', P: 2, N: 12 },
  { ...gpt, label: 'GPT P=3 N=13 (uneven tokens)', P: 3, N: 13 },
  { ...gpt, label: 'GPT P=4 N=14 (uneven tokens) no documents', P: 4, N: 14, docs: false },
  { ...gpt, label: 'GPT P=4 N=16 B=1 reference kernels', P: 4, N: 16, B: 1, kernels: 'reference' },
  { ...llama, label: 'Llama H=6 Hkv=2 P=2 N=13', P: 2, N: 13, heads: 6, kvHeads: 2 },
  { ...llama, label: 'Llama H=6 Hkv=3 P=3 N=14 untied head', P: 3, N: 14, heads: 6, kvHeads: 3, dModel: 36, tie: false },
  { ...llama, label: 'Llama H=8 Hkv=4 P=4 N=15 no documents', P: 4, N: 15, heads: 8, kvHeads: 4, dModel: 32, dFf: 64, docs: false },
];

for (const k of cases) {
  test(`Megatron-SP model equals the one-worker model: ${k.label}`, { timeout: 60_000 }, async () => {
    const ranks = await launchThreads<TpModelResult>(k.P, entry, k);
    const config = tinyConfig(k);
    const ref = createModel(config, { kernels: kernelsFor(k.kernels, 1), seed: 3 });
    const batch = globalBatches(1, k.B, k.N, config.vocab_size, 11, k.docs)[0];
    if (!batch) throw new Error('no batch');
    const total = countTargets(batch);
    const r = ref.forward(batch);
    ref.backward(1 / total);
    const lossSum = ranks.reduce((s, x) => s + x.lossSum, 0);
    assert.ok(Math.abs(lossSum - r.lossSum) <= 1e-5 * Math.abs(r.lossSum), `loss sum ${lossSum} vs ${r.lossSum}`);
    assert.equal(ranks.reduce((s, x) => s + x.count, 0), r.count, 'target count');
    // Each rank's vector put into zeros: slices land in their columns, replicated shares add up.
    const layout = new TpLayout(config, k.P);
    const local = new ParameterStore();
    layout.declareLocal(local);
    const grads = new Float32Array(layout.fullNumel);
    ranks.forEach((x, rank) => {
      const mine = new Float32Array(layout.fullNumel);
      layout.putLocal(x.grads, mine, local.infos, rank);
      for (let i = 0; i < mine.length; i++) grads[i] = (grads[i] as number) + (mine[i] as number);
    });
    for (const info of ref.params.infos) {
      const at = (a: Float32Array): Float32Array => a.subarray(info.offset, info.offset + info.size);
      if (!info.name.endsWith('attn.c_attn.bias')) {
        assertClose(at(grads), at(ref.params.grads), 1e-5, `gradient of ${info.name}`);
        continue;
      }
      // A key bias's exact gradient is zero (softmax ignores a shift), so only the q and v parts are compared.
      const C = k.dModel;
      for (const part of [0, 2]) {
        assertClose(at(grads).subarray(part * C, (part + 1) * C), at(ref.params.grads).subarray(part * C, (part + 1) * C), 1e-5,
          `gradient of ${info.name} block ${part}`);
      }
    }
    const counts = splitCounts(k.N, k.P);
    ranks.forEach((x, rank) => {
      const v = megatronSpLayerBytes(k.B, k.N, k.P, k.dModel, 4, rank);
      const ids = commBytes.allGather(counts.map((n) => k.B * n), rank, 4);
      const gathers = (k.docs ? 1 : 0) + (k.arch === 'llama' ? 1 : 0);
      const L = config.n_layers;
      assert.deepEqual(x.fwd, [L * v.forward.sent + gathers * ids.sent, L * v.forward.received + gathers * ids.received], `rank ${rank} forward bytes`);
      assert.deepEqual(x.bwd, [L * v.backward.sent, L * v.backward.received], `rank ${rank} backward bytes`);
      assert.equal(x.localNumel, megatronSpLocalNumel(config, k.P), `rank ${rank} parameters`);
    });
    assert.equal(ranks[0]?.activationBytes, megatronSpActivationBytes(config, k.B, k.N, k.P), 'rank 0 activation bytes');
  });
}

test('megatronSpLayerBytes: even splits move 4·B·N·C·(P−1)/P elements each way per pass', () => {
  const v = megatronSpLayerBytes(2, 12, 4, 8, 4);
  const elems = (4 * 2 * 12 * 8 * 3) / 4;
  assert.deepEqual(v.forward, { sent: elems * 4, received: elems * 4 });
  assert.deepEqual(v.backward, { sent: elems * 4, received: elems * 4 });
  assert.deepEqual(megatronSpLayerBytes(2, 12, 1, 8).forward, { sent: 0, received: 0 }, 'one rank moves nothing');
  assert.throws(() => megatronSpLayerBytes(2, 12, 4, 8, 4, 4), /rank 4 outside \[0, 4\)/);
});

test('--dry-run plans a Megatron-SP rank: its slices and replicated parameters, and whole-sequence activations', () => {
  const set = { 'sequence_parallel.mode': 'megatron', sequence_parallel_size: 4, 'data.seq_len': 256 };
  const c = buildConfig(Object.entries(set).map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'test' })));
  const plan = planMemory(c);
  const mc = modelConfigOf(c);
  const local = megatronSpLocalNumel(mc, 4);
  assert.ok(local < plan.numel / 2, `a rank holds ${local} of ${plan.numel} parameters`);
  assert.deepEqual(plan.states, { params: 4 * local, grads: 4 * local, optimizer: 8 * local, comm: 0 });
  assert.equal(plan.activations, megatronSpActivationBytes(mc, c.train_micro_batch_size_per_gpu, 256, 4));
});
