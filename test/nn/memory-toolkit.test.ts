// The memory toolkit against the plain model, for GPT and Llama with B = 2 and N = B*T = 18 tokens
// that no tile size divides: activation checkpointing, the sequence-tiled MLP, tiled logits + loss
// and their combinations give the plain model's loss and every parameter's gradient (checkpointing
// alone bit for bit, tiling within relative L2 1e-6: only the order of the tile sums differs); bf16
// storage of the saved activations stays within relative 1e-2 of the loss and 3e-2 of every
// gradient. The estimate equals the bytes the model allocates for every combination and falls as
// each option is turned on; sampling still gets whole logits from a forward without targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, estimateActivationBytes } from '../../src/nn/create-model.js';
import type { CausalLM, TokenBatch } from '../../src/nn/causal-lm.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { PLAIN_MEMORY, type MemoryOptions } from '../../src/nn/memory-options.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { buildConfig, memoryOptionsOf, type ConfigLayer } from '../../src/train/config.js';
import { planMemory } from '../../src/train/dry-run.js';
import { checkedModelConfig } from '../../src/train/run.js';
import { assertClose, relL2 } from '../helpers.js';
import { scrambleWeights, tinyBatch, tinyGptConfig, tinyLlamaConfig } from './nn-helpers.js';

const kernels = createNativeKernels();
const B = 2;
const T = 9;

const configs: [string, ModelConfig][] = [
  ['GPT', tinyGptConfig({ n_layers: 3 })],
  ['Llama', tinyLlamaConfig({ n_layers: 3 })],
  ['Llama (tied embeddings)', tinyLlamaConfig({ n_layers: 2, tie_embeddings: true })],
];

const fp32Options: [string, Partial<MemoryOptions>][] = [
  ['checkpointing', { checkpoint: true }],
  ['tiled MLP (tile 5)', { mlpTile: 5 }],
  ['tiled logits (tile 4)', { logitsTile: 4 }],
  ['tiled MLP and logits (auto)', { mlpTile: 'auto', logitsTile: 'auto' }],
  ['checkpointing + tiled MLP (7) + tiled logits (5)', { checkpoint: true, mlpTile: 7, logitsTile: 5 }],
];

const bf16Options: [string, Partial<MemoryOptions>][] = [
  ['bf16 storage', { bf16Activations: true }],
  ['bf16 storage + checkpointing', { bf16Activations: true, checkpoint: true }],
  ['bf16 storage + everything', { bf16Activations: true, checkpoint: true, mlpTile: 4, logitsTile: 3 }],
];

function build(config: ModelConfig, memory: Partial<MemoryOptions>): CausalLM {
  const model = createModel(config, { kernels, seed: 3, memory: { ...PLAIN_MEMORY, ...memory } });
  scrambleWeights(model, 11);
  return model;
}

/** Loss and gradients of two accumulated backward passes (so fused head gradients must add, not overwrite). */
function step(model: CausalLM, batch: TokenBatch): { loss: number; grads: Float32Array } {
  model.params.zeroGrads();
  const { lossSum, count } = model.forward(batch);
  model.backward(1 / count);
  model.forward(batch);
  model.backward(0.5 / count);
  return { loss: lossSum / count, grads: model.params.grads.slice() };
}

function compare(model: CausalLM, got: Float32Array, want: Float32Array, tol: number, label: string): void {
  for (const info of model.params.infos) {
    const a = got.subarray(info.offset, info.offset + info.size);
    const b = want.subarray(info.offset, info.offset + info.size);
    if (tol === 0) assert.deepEqual(a, b, `${label}: ${info.name} gradient differs`);
    else assertClose(a, b, tol, `${label}: ${info.name} gradient`);
  }
}

for (const [arch, config] of configs) {
  const batch = tinyBatch(config, B, T, 5, true);
  const plainModel = build(config, {});
  const plain = step(plainModel, batch);

  for (const [label, opts] of fp32Options) {
    test(`${arch} ${label} equals the plain model`, () => {
      const model = build(config, opts);
      const got = step(model, batch);
      const exact = label === 'checkpointing';
      if (exact) assert.equal(got.loss, plain.loss);
      else assert.ok(Math.abs(got.loss - plain.loss) <= 1e-6 * Math.abs(plain.loss), `${label}: loss ${got.loss} vs ${plain.loss}`);
      compare(model, got.grads, plain.grads, exact ? 0 : 1e-6, `${arch} ${label}`);
      assert.equal(model.activationBytes(), estimateActivationBytes(config, B * T, { ...PLAIN_MEMORY, ...opts }));
    });
  }

  for (const [label, opts] of bf16Options) {
    test(`${arch} ${label} stays within the bf16 tolerance of the plain model`, () => {
      const model = build(config, opts);
      const got = step(model, batch);
      assert.ok(Math.abs(got.loss - plain.loss) <= 1e-2 * Math.abs(plain.loss), `${label}: loss ${got.loss} vs ${plain.loss}`);
      // The loss itself is computed from fp32 activations: only backward reads the bf16 copies.
      assert.equal(got.loss, plain.loss);
      compare(model, got.grads, plain.grads, 3e-2, `${arch} ${label}`);
      // Not exact either: bf16 rounding must actually reach the gradients.
      assert.ok(relL2(got.grads, plain.grads) > 1e-6, 'bf16 storage left the gradients bit-identical');
      assert.equal(model.activationBytes(), estimateActivationBytes(config, B * T, { ...PLAIN_MEMORY, ...opts }));
    });
  }

  test(`${arch} tiled logits: sampling gets whole logits; after a forward with targets lastLogits refuses`, () => {
    const model = build(config, { logitsTile: 4, checkpoint: true });
    const noTargets = { ...batch, targets: null };
    plainModel.forward(noTargets);
    model.forward(noTargets);
    assertClose(model.lastLogits(), plainModel.lastLogits(), 1e-6, 'logits');
    model.forward(batch);
    assert.throws(() => model.lastLogits(), /tiled logits keep no \[N, vocab\] logits .*targets: null/);
    model.forward(noTargets);
    assert.throws(() => model.backward(1), /no targets/);
  });

  test(`${arch} estimated activation bytes fall with each option`, () => {
    const big: ModelConfig = { ...config, d_model: 64, n_heads: 4, n_kv_heads: config.arch === 'gpt' ? 4 : 2, d_ff: 256,
      vocab_size: 512, n_layers: 4, max_seq_len: 4096 };
    const est = (m: Partial<MemoryOptions>): number => estimateActivationBytes(big, 4096, { ...PLAIN_MEMORY, ...m });
    const plainBytes = est({});
    const ckpt = est({ checkpoint: true });
    const tiledMlp = est({ mlpTile: 256 });
    const tiledLogits = est({ logitsTile: 256 });
    const all = est({ checkpoint: true, mlpTile: 256, logitsTile: 256 });
    const allBf16 = est({ checkpoint: true, mlpTile: 256, logitsTile: 256, bf16Activations: true });
    assert.ok(ckpt < 0.6 * plainBytes, `checkpointing ${ckpt} vs plain ${plainBytes}`);
    assert.ok(tiledMlp < plainBytes && tiledLogits < plainBytes, 'tiling saves memory');
    assert.ok(all < ckpt && all < tiledMlp && all < tiledLogits, 'the combination saves the most');
    assert.ok(allBf16 < all, 'bf16 storage saves more');
    // L = 4 layers of bf16 copies plus one fp32 working set: 3/4 of the layers' fp32 bytes.
    assert.ok(est({ bf16Activations: true }) < plainBytes, 'bf16 storage alone saves memory');
  });
}

test('memory options: a bad tile size is named with what is allowed', () => {
  assert.throws(() => createModel(tinyGptConfig(), { kernels, seed: 1, memory: { ...PLAIN_MEMORY, mlpTile: -2 } }),
    /mlpTile is -2; allowed: 0 \(off\), a positive integer of tokens, or "auto"/);
  assert.throws(() => estimateActivationBytes(tinyGptConfig(), 8, { ...PLAIN_MEMORY, logitsTile: 1.5 }), /logitsTile is 1.5/);
});

test('config: the activation_checkpointing section reaches the dry-run estimate', () => {
  const set = (path: string, value: unknown): ConfigLayer => ({ kind: 'set', path, value, source: 'test' });
  const base = [set('sequence_parallel_size', 1), set('data.seq_len', 1024)];
  const plainPlan = planMemory(buildConfig(base));
  const c = buildConfig([...base, set('activation_checkpointing.enabled', true), set('activation_checkpointing.mlp_tile_tokens', 'auto'),
    set('activation_checkpointing.logits_tile_tokens', 100), set('activation_checkpointing.bf16_activations', true)]);
  assert.deepEqual(memoryOptionsOf(c), { checkpoint: true, mlpTile: 'auto', logitsTile: 100, bf16Activations: true });
  const plan = planMemory(c);
  const mc = checkedModelConfig(c);
  assert.equal(plan.activations, estimateActivationBytes(mc, plan.tokensPerRank, memoryOptionsOf(c)));
  assert.equal(plainPlan.activations, estimateActivationBytes(mc, plan.tokensPerRank));
  assert.ok(plan.activations < plainPlan.activations / 2, `${plan.activations} vs ${plainPlan.activations}`);
});

test('config: the memory toolkit applies to Megatron-SP too (test/parallel/megatron-memory.test.ts checks its models)', () => {
  const set = (path: string, value: unknown): ConfigLayer => ({ kind: 'set', path, value, source: 'test' });
  const c = buildConfig([set('sequence_parallel.mode', 'megatron'), set('activation_checkpointing.enabled', true)]);
  assert.equal(memoryOptionsOf(c).checkpoint, true);
});
