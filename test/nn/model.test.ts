// Model behaviour that the gradient and fixture checks do not cover: config and batch validation,
// initialisation, buffer reuse across batch shapes, batch-row independence and document masks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, validateModelConfig } from '../../src/nn/create-model.js';
import type { CausalLM, TokenBatch } from '../../src/nn/causal-lm.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { assertClose } from '../helpers.js';
import { gradients, scrambleWeights, tinyBatch, tinyGptConfig, tinyLlamaConfig } from './nn-helpers.js';

const kernels = createReferenceKernels();

function rejects(over: Partial<ModelConfig> & Record<string, unknown>, base: ModelConfig, pattern: RegExp): void {
  assert.throws(() => validateModelConfig({ ...base, ...over } as ModelConfig), pattern);
}

test('validateModelConfig names the bad field and what is allowed', () => {
  const gpt = tinyGptConfig();
  const llama = tinyLlamaConfig();
  validateModelConfig(gpt);
  validateModelConfig(llama);
  rejects({ arch: 'bert' as 'gpt' }, gpt, /arch .*"gpt", "llama"/);
  rejects({ d_model: 0 }, gpt, /d_model .*positive integer/);
  rejects({ vocab_size: 12.5 }, gpt, /vocab_size .*positive integer/);
  rejects({ n_heads: 3, n_kv_heads: 3 }, gpt, /n_heads \(3\) must divide d_model \(8\)/);
  rejects({ n_kv_heads: 3 }, llama, /n_kv_heads \(3\) must divide n_heads \(4\)/);
  rejects({ n_kv_heads: 1 }, gpt, /n_kv_heads .*must equal n_heads .*"gpt"/);
  rejects({ tie_embeddings: false }, gpt, /tie_embeddings must be true for arch "gpt"/);
  rejects({ d_model: 12, n_heads: 4, n_kv_heads: 2 }, llama, /head size .*= 3; RoPE needs an even head size/);
  rejects({ norm_eps: 0 }, gpt, /norm_eps .*positive finite/);
  rejects({ rope_theta: -1 }, llama, /rope_theta .*positive finite/);
  rejects({ dropout: 0.1 }, gpt, /dropout is not a model config key/);
  assert.throws(() => createModel({ ...gpt, n_layers: -1 }, { kernels, seed: 1 }), /n_layers/);
});

test('initialisation is GPT-2 style and deterministic from the seed', () => {
  const cfg = tinyGptConfig({ d_model: 32, n_heads: 4, n_kv_heads: 4, d_ff: 128, n_layers: 4 });
  const a = createModel(cfg, { kernels, seed: 7 });
  const b = createModel(cfg, { kernels, seed: 7 });
  const c = createModel(cfg, { kernels, seed: 8 });
  assert.deepEqual(a.params.data, b.params.data);
  assert.notDeepEqual(a.params.data, c.params.data);
  const std = (x: Float32Array): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  // 4096 draws: the sample std is within a few percent of the target.
  assert.ok(Math.abs(std(a.params.value('h.0.mlp.c_fc.weight')) - 0.02) < 0.002);
  assert.ok(Math.abs(std(a.params.value('h.1.mlp.c_proj.weight')) - 0.02 / Math.sqrt(8)) < 0.0005);
  assert.ok(a.params.value('h.0.attn.c_attn.bias').every((v) => v === 0));
  assert.ok(a.params.value('ln_f.weight').every((v) => v === 1));
  const l = createModel(tinyLlamaConfig(), { kernels, seed: 7 });
  assert.ok(l.params.value('layers.1.post_attention_layernorm.weight').every((v) => v === 1));
  assert.deepEqual(l.params.info('layers.0.self_attn.k_proj.weight').shape, [8, 16]);
  assert.deepEqual(l.params.info('lm_head.weight').shape, [13, 16]);
});

test('bad batches are refused with the field named', () => {
  const cfg = tinyGptConfig();
  const model = createModel(cfg, { kernels, seed: 1 });
  const ok = tinyBatch(cfg, 2, 4, 3, false);
  const bad = (over: Partial<TokenBatch>, pattern: RegExp): void => {
    assert.throws(() => model.forward({ ...ok, ...over }), pattern);
  };
  bad({ tokens: new Int32Array(7) }, /tokens has 7 elements; expected B\*T = 2\*4 = 8/);
  bad({ tokens: Int32Array.from(ok.tokens, (t, i) => (i === 5 ? 13 : t)) }, /tokens\[5\] = 13 is outside the vocabulary \[0, 13\)/);
  bad({ positions: Int32Array.from(ok.positions, (p, i) => (i === 2 ? 16 : p)) }, /positions\[2\] = 16 .*max_seq_len = 16/);
  bad({ targets: Int32Array.from(ok.targets ?? [], (t, i) => (i === 0 ? 99 : t)) }, /targets\[0\] = 99/);
  bad({ docIds: new Int32Array(3) }, /docIds has 3 elements/);
  bad({ T: 17, B: 1, tokens: new Int32Array(17), positions: new Int32Array(17), targets: null }, /T = 17 exceeds max_seq_len = 16/);
  assert.throws(() => createModel(cfg, { kernels, seed: 1 }).backward(1), /call forward first/);
  model.forward({ ...ok, targets: null });
  assert.throws(() => model.backward(1), /no targets/);
});

/** Logits of rows [t0, t1) of batch row b, copied out. */
function logitRows(model: CausalLM, T: number, b: number, t0: number, t1: number): Float32Array {
  const V = model.config.vocab_size;
  return model.lastLogits().slice((b * T + t0) * V, (b * T + t1) * V);
}

for (const config of [tinyGptConfig(), tinyLlamaConfig()]) {
  test(`${config.arch}: buffers are reused across batch shapes and gradients accumulate`, () => {
    const model = createModel(config, { kernels, seed: 5 });
    scrambleWeights(model, 6);
    const big = tinyBatch(config, 2, 6, 7, true);
    const first = gradients(model, big);
    const small = tinyBatch(config, 1, 4, 8, false);
    gradients(model, small);
    model.params.zeroGrads();
    const again = model.forward(big);
    assert.equal(again.lossSum / again.count, first.loss);
    model.backward(1 / again.count);
    model.backward(1 / again.count);
    assertClose(model.params.grads, first.grads.map((g) => 2 * g), 1e-6, `${config.arch} accumulated grads`);
    const noTargets = model.forward({ ...big, targets: null });
    assert.deepEqual(noTargets, { lossSum: 0, count: 0 });
  });

  test(`${config.arch}: batch rows are independent and document masks isolate documents`, () => {
    const model = createModel(config, { kernels, seed: 5 });
    scrambleWeights(model, 6);
    const T = 6;
    const batch = tinyBatch(config, 2, T, 9, true); // row 1: doc 0 = t 0..2, doc 1 = t 3..5
    model.forward(batch);
    const row1 = logitRows(model, T, 1, 0, T);
    // Row 1 alone, same global positions: same logits.
    const slice = (a: Int32Array): Int32Array => a.slice(T, 2 * T);
    model.forward({ B: 1, T, tokens: slice(batch.tokens), targets: null, positions: slice(batch.positions),
      docIds: batch.docIds ? slice(batch.docIds) : null });
    assertClose(logitRows(model, T, 0, 0, T), row1, 1e-6, `${config.arch} row 1 alone`);
    // Document 1 of row 1 alone (no mask needed), at its global positions: same logits as in the pack.
    const doc = (a: Int32Array): Int32Array => a.slice(T + 3, 2 * T);
    model.forward({ B: 1, T: 3, tokens: doc(batch.tokens), targets: null, positions: doc(batch.positions), docIds: null });
    assertClose(logitRows(model, 3, 0, 0, 3), row1.slice(3 * config.vocab_size), 1e-6, `${config.arch} document alone`);
  });
}
