// Hugging Face import: our own export round-trips bit for bit, and folders laid out the way
// `transformers` saves GPT-2 and Llama (bare or prefixed names, fp16/bf16, mask buffers, shards,
// a tied lm_head copy) load into the same weights; unsupported configs are refused by field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import type { CausalLM } from '../../src/nn/causal-lm.js';
import { createModel } from '../../src/nn/create-model.js';
import { hfConfig } from '../../src/nn/hf-export.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { buildConfig, defaultConfig, modelConfigOf } from '../../src/train/config.js';
import { CheckpointError } from '../../src/train/errors.js';
import { hfModelLayer, importHfModel, initFromHf, readHfCheckpoint, readHfModelConfig, ulyssesModelSection } from '../../src/train/hf-import.js';
import { AdamW } from '../../src/train/optimizer.js';
import { scrambleWeights, tinyBatch, tinyGptConfig, tinyLlamaConfig } from '../nn/nn-helpers.js';
import { writeTestSafetensors, type TestTensor } from './st-writer.js';

const kernels = createReferenceKernels();
const root = mkdtempSync(join(tmpdir(), 'ulysses-hf-import-'));
after(() => rmSync(root, { recursive: true, force: true }));

function trainedModel(cfg: ModelConfig, seed: number): CausalLM {
  const model = createModel(cfg, { kernels, seed });
  scrambleWeights(model, seed);
  return model;
}

/** Our checkpoint writer, as `ulysses train` uses it. */
function exportWithCheckpoint(model: CausalLM): string {
  const dir = join(mkdtempSync(join(root, 'ours-')), 'checkpoint');
  const opt = new AdamW(kernels, model.params, { betas: [0.9, 0.99], eps: 1e-8, weight_decay: 0 });
  saveCheckpoint(dir, model, opt, { step: 1, sampler_state: 0, tokens_seen: 0, data_tokens: 0, config: defaultConfig() });
  return dir;
}

function logitsOf(model: CausalLM): Float32Array {
  const b = tinyBatch(model.config, 2, 5, 9, false);
  model.forward({ ...b, targets: null });
  return Float32Array.from(model.lastLogits());
}

/** Rounds weights to values fp16 and bf16 hold exactly, so a half-precision file can be compared bit for bit. */
function roundForHalf(model: CausalLM): void {
  const d = model.params.data;
  for (let i = 0; i < d.length; i++) d[i] = Math.round((d[i] as number) * 64) / 64;
}

for (const [arch, cfg] of [
  ['GPT-2', tinyGptConfig()],
  ['Llama (GQA, untied head)', tinyLlamaConfig()],
  ['Llama (tied head)', tinyLlamaConfig({ tie_embeddings: true, n_kv_heads: 4 })],
] as const) {
  test(`${arch}: export -> import gives identical weights, config and logits`, () => {
    const model = trainedModel(cfg, 11);
    const dir = exportWithCheckpoint(model);
    const back = importHfModel(dir, kernels);
    assert.deepEqual(back.config, cfg);
    assert.deepEqual(back.params.infos.map((i) => i.name), model.params.infos.map((i) => i.name));
    assert.deepEqual(back.params.data, model.params.data, 'every weight bit-identical');
    assert.deepEqual(logitsOf(back), logitsOf(model));
    assert.equal(ulyssesModelSection(back.config).type, cfg.arch);
  });
}

test('GPT-2 as transformers saves it: bare or "transformer." names, fp16, mask buffers and a tied lm_head copy', () => {
  const cfg = tinyGptConfig();
  const model = trainedModel(cfg, 5);
  roundForHalf(model);
  for (const bare of [true, false]) {
    const dir = mkdtempSync(join(root, 'hf-gpt2-'));
    const tensors = new Map<string, TestTensor>();
    for (const i of model.params.infos) {
      tensors.set(bare ? i.name : `transformer.${i.name}`, { dtype: 'F16', shape: i.shape, data: model.params.value(i.name) });
    }
    for (let l = 0; l < cfg.n_layers; l++) {
      const P = cfg.max_seq_len;
      tensors.set(`${bare ? '' : 'transformer.'}h.${l}.attn.bias`, { dtype: 'F32', shape: [1, 1, P, P], data: new Float32Array(P * P).fill(1) });
      tensors.set(`${bare ? '' : 'transformer.'}h.${l}.attn.masked_bias`, { dtype: 'F32', shape: [], data: Float32Array.of(-1e4) });
    }
    tensors.set('lm_head.weight', { dtype: 'F16', shape: [cfg.vocab_size, cfg.d_model], data: model.params.value('wte.weight') });
    writeTestSafetensors(join(dir, 'model.safetensors'), tensors);
    // What GPT2Config.save_pretrained writes: n_inner null means 4 * n_embd, plus keys we ignore.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', activation_function: 'gelu_new', n_ctx: cfg.max_seq_len,
      n_embd: cfg.d_model, n_head: cfg.n_heads, n_layer: cfg.n_layers, n_positions: cfg.max_seq_len, n_inner: null,
      vocab_size: cfg.vocab_size, layer_norm_epsilon: 1e-5, bos_token_id: 0, eos_token_id: 0, summary_type: 'cls_index',
      torch_dtype: 'float16', transformers_version: '4.44.0', use_cache: true,
    }));
    const back = importHfModel(dir, kernels);
    assert.deepEqual(back.config, { ...cfg, d_ff: 4 * cfg.d_model });
    assert.deepEqual(back.params.data, model.params.data);
  }
});

test('Llama as transformers saves it: "model." names, bf16, sharded with an index, rotary buffers', () => {
  const cfg = tinyLlamaConfig();
  const model = trainedModel(cfg, 6);
  roundForHalf(model);
  const dir = mkdtempSync(join(root, 'hf-llama-'));
  const shards: [Map<string, TestTensor>, Map<string, TestTensor>] = [new Map(), new Map()];
  const weightMap: Record<string, string> = {};
  model.params.infos.forEach((i, k) => {
    const name = i.name === 'lm_head.weight' ? i.name : `model.${i.name}`;
    const shard = k % 2;
    (shards[shard] as Map<string, TestTensor>).set(name, { dtype: 'BF16', shape: i.shape, data: model.params.value(i.name) });
    weightMap[name] = `model-0000${shard + 1}-of-00002.safetensors`;
  });
  shards[0].set('model.layers.0.self_attn.rotary_emb.inv_freq', { dtype: 'F32', shape: [2], data: Float32Array.of(1, 0.01) });
  shards.forEach((s, k) => writeTestSafetensors(join(dir, `model-0000${k + 1}-of-00002.safetensors`), s));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    ...hfConfig(cfg), head_dim: undefined, bos_token_id: 1, eos_token_id: 2, pretraining_tp: 1, torch_dtype: 'bfloat16',
  }));
  const back = importHfModel(dir, kernels);
  assert.deepEqual(back.config, cfg);
  assert.deepEqual(back.params.data, model.params.data);
  assert.deepEqual(logitsOf(back), logitsOf(model));
});

test('unsupported configs and mismatched weights are refused with the field or tensor named', () => {
  const cfg = tinyLlamaConfig();
  const model = trainedModel(cfg, 7);
  const good = exportWithCheckpoint(model);
  const variant = (configOver: Record<string, unknown>, edit?: (t: Map<string, TestTensor>) => void): string => {
    const dir = mkdtempSync(join(root, 'bad-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...hfConfig(cfg), ...configOver }));
    const t = new Map<string, TestTensor>();
    for (const i of model.params.infos) t.set(i.name === 'lm_head.weight' ? i.name : `model.${i.name}`, { dtype: 'F32', shape: i.shape, data: model.params.value(i.name) });
    edit?.(t);
    writeTestSafetensors(join(dir, 'model.safetensors'), t);
    return dir;
  };
  const refused = (dir: string, pattern: RegExp): void => {
    assert.throws(() => importHfModel(dir, kernels), (e: unknown) => e instanceof CheckpointError && pattern.test(e.message), pattern.source);
  };
  assert.ok(readHfCheckpoint(good).tensors.has('model.norm.weight'));
  refused(variant({ rope_scaling: { type: 'linear', factor: 2 } }), /rope_scaling/);
  refused(variant({ attention_bias: true }), /attention_bias/);
  refused(variant({ model_type: 'mistral' }), /model_type = "mistral".*gpt2.*llama/);
  refused(variant({ hidden_act: 'gelu' }), /hidden_act/);
  refused(variant({ num_key_value_heads: 3 }), /n_kv_heads/);
  refused(variant({}, (t) => t.delete('model.norm.weight')), /no tensor model\.norm\.weight/);
  refused(variant({}, (t) => t.set('model.norm.weight', { dtype: 'F32', shape: [3], data: new Float32Array(3) })), /norm\.weight has shape \[3\]/);
  refused(variant({}, (t) => t.set('model.layers.0.self_attn.q_proj.bias', { dtype: 'F32', shape: [16], data: new Float32Array(16) })), /no place for.*q_proj\.bias/);
  refused(variant({}, (t) => t.set('model.norm.weight', { dtype: 'I32', shape: [16], data: new Float32Array(16) })), /dtype I32/);
  const gpt = trainedModel(tinyGptConfig(), 8);
  const gdir = exportWithCheckpoint(gpt);
  writeFileSync(join(gdir, 'config.json'), JSON.stringify({ ...hfConfig(gpt.config), activation_function: 'gelu' }));
  refused(gdir, /activation_function = "gelu"/);
  const empty = mkdtempSync(join(root, 'bin-'));
  writeFileSync(join(empty, 'config.json'), JSON.stringify(hfConfig(cfg)));
  writeFileSync(join(empty, 'pytorch_model.bin'), 'pickle');
  refused(empty, /pytorch_model\.bin.*safe_serialization/);
});

test('initFromHf (--init-from) fills a freshly built model and refuses one of another shape', () => {
  const src = trainedModel(tinyLlamaConfig({ vocab_size: 256 }), 12);
  const dir = exportWithCheckpoint(src);
  assert.deepEqual(readHfModelConfig(dir), src.config);
  assert.deepEqual(readHfModelConfig(join(dir, '..')), src.config, 'a run folder stands for its checkpoint');
  // A longer context is fine for RoPE: the weights do not depend on it.
  const longer = createModel({ ...src.config, max_seq_len: 64 }, { kernels, seed: 99 });
  initFromHf(longer, dir);
  assert.deepEqual(longer.params.data, src.params.data);
  // So is another rotary base: the weights are the same, the positions rotate more slowly.
  const rebased = createModel({ ...src.config, rope_theta: 500000 }, { kernels, seed: 99 });
  initFromHf(rebased, dir);
  assert.deepEqual(rebased.params.data, src.params.data);
  assert.equal(rebased.config.rope_theta, 500000);
  const wider = createModel({ ...src.config, d_ff: 32 }, { kernels, seed: 99 });
  assert.throws(() => initFromHf(wider, dir), (e: unknown) => e instanceof CheckpointError && /d_ff = 24, the run's model has 32/.test(e.message));
  // The layer --init-from adds makes a run config whose model is the folder's.
  const cfg = buildConfig([{ kind: 'set', path: 'data.seq_len', value: 16, source: 'test' }, hfModelLayer(dir)]);
  assert.deepEqual(modelConfigOf(cfg), src.config);
  const gpt = trainedModel(tinyGptConfig(), 13);
  const gdir = exportWithCheckpoint(gpt);
  const shorter = createModel({ ...gpt.config, max_seq_len: 8 }, { kernels, seed: 1 });
  assert.throws(() => initFromHf(shorter, gdir), /max_seq_len = 16, the run's model has 8/);
  const gptRebased = createModel({ ...gpt.config, rope_theta: 500000 }, { kernels, seed: 1 });
  assert.throws(() => initFromHf(gptRebased, gdir), /rope_theta = 10000, the run's model has 500000/);
});
