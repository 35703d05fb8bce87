// Hugging Face export: config.json keys and state-dict names for GPT-2 and Llama.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/nn/create-model.js';
import { fromHfName, hfConfig, hfStateDict, toHfName } from '../../src/nn/hf-export.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { tinyGptConfig, tinyLlamaConfig } from './nn-helpers.js';

const kernels = createReferenceKernels();

test('GPT-2 export: GPT2Config keys and transformer.-prefixed names, lm_head tied', () => {
  const cfg = tinyGptConfig();
  const hf = hfConfig(cfg);
  assert.equal(hf.model_type, 'gpt2');
  assert.deepEqual(hf.architectures, ['GPT2LMHeadModel']);
  assert.equal(hf.n_embd, 8);
  assert.equal(hf.n_positions, 16);
  assert.equal(hf.n_layer, 2);
  assert.equal(hf.n_head, 2);
  assert.equal(hf.n_inner, 32);
  assert.equal(hf.vocab_size, 13);
  assert.equal(hf.layer_norm_epsilon, 1e-5);
  assert.equal(hf.activation_function, 'gelu_new');
  assert.equal(hf.tie_word_embeddings, true);
  const model = createModel(cfg, { kernels, seed: 1 });
  const sd = hfStateDict(cfg, model.params);
  assert.ok(sd.has('transformer.wte.weight'));
  assert.ok(sd.has('transformer.h.1.attn.c_attn.weight'));
  assert.ok(!sd.has('lm_head.weight'));
  assert.deepEqual(sd.get('transformer.h.0.mlp.c_fc.weight')?.shape, [8, 32]);
  assert.equal(sd.size, model.params.infos.length);
  assert.equal(fromHfName(cfg, 'transformer.h.0.ln_1.weight', model.params), 'h.0.ln_1.weight');
  assert.equal(fromHfName(cfg, 'transformer.h.0.attn.bias', model.params), null);
  assert.equal(fromHfName(cfg, 'lm_head.weight', model.params), null);
});

test('Llama export: LlamaConfig keys, model.-prefixed names and an untied lm_head', () => {
  const cfg = tinyLlamaConfig();
  const hf = hfConfig(cfg);
  assert.equal(hf.model_type, 'llama');
  assert.deepEqual(hf.architectures, ['LlamaForCausalLM']);
  assert.equal(hf.hidden_size, 16);
  assert.equal(hf.intermediate_size, 24);
  assert.equal(hf.num_hidden_layers, 2);
  assert.equal(hf.num_attention_heads, 4);
  assert.equal(hf.num_key_value_heads, 2);
  assert.equal(hf.max_position_embeddings, 16);
  assert.equal(hf.rms_norm_eps, 1e-5);
  assert.equal(hf.rope_theta, 10000);
  assert.equal(hf.tie_word_embeddings, false);
  assert.equal(hf.hidden_act, 'silu');
  const model = createModel(cfg, { kernels, seed: 1 });
  const sd = hfStateDict(cfg, model.params);
  assert.ok(sd.has('model.embed_tokens.weight'));
  assert.ok(sd.has('model.layers.1.self_attn.k_proj.weight'));
  assert.ok(sd.has('model.norm.weight'));
  assert.ok(sd.has('lm_head.weight'));
  assert.equal(toHfName(cfg, 'lm_head.weight'), 'lm_head.weight');
  assert.equal(fromHfName(cfg, 'model.layers.0.mlp.up_proj.weight', model.params), 'layers.0.mlp.up_proj.weight');
  // Values are views of the live parameters.
  model.params.value('norm.weight')[0] = 42;
  assert.equal(sd.get('model.norm.weight')?.data[0], 42);
  const tied = { ...cfg, tie_embeddings: true };
  assert.equal(hfConfig(tied).tie_word_embeddings, true);
  assert.ok(!hfStateDict(tied, createModel(tied, { kernels, seed: 1 }).params).has('lm_head.weight'));
});
