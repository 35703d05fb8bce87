// What a trained model needs to open in Python `transformers`: the config.json object and the
// state-dict names. Our parameter names are Hugging Face's with the module prefix dropped
// ("transformer." for GPT-2, "model." for Llama); GPT-2's Conv1D [in, out] layout and Llama's
// nn.Linear [out, in] layout are already Hugging Face's, so tensors export without transposes.
import type { NamedTensor } from '../tensor/safetensors.js';
import type { ModelConfig } from './model-config.js';
import type { ParameterStore } from './parameters.js';

/** The Hugging Face config.json contents for a model with this config. */
export function hfConfig(config: ModelConfig): Record<string, unknown> {
  if (config.arch === 'gpt') {
    return {
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      vocab_size: config.vocab_size,
      n_positions: config.max_seq_len,
      n_embd: config.d_model,
      n_layer: config.n_layers,
      n_head: config.n_heads,
      n_inner: config.d_ff,
      layer_norm_epsilon: config.norm_eps,
      activation_function: 'gelu_new',
      tie_word_embeddings: true,
      // We train without dropout, so a model reloaded for fine-tuning should not add any.
      resid_pdrop: 0,
      embd_pdrop: 0,
      attn_pdrop: 0,
      initializer_range: 0.02,
      torch_dtype: 'float32',
    };
  }
  return {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size: config.vocab_size,
    hidden_size: config.d_model,
    intermediate_size: config.d_ff,
    num_hidden_layers: config.n_layers,
    num_attention_heads: config.n_heads,
    num_key_value_heads: config.n_kv_heads,
    head_dim: config.d_model / config.n_heads,
    max_position_embeddings: config.max_seq_len,
    rms_norm_eps: config.norm_eps,
    rope_theta: config.rope_theta,
    rope_scaling: null,
    tie_word_embeddings: config.tie_embeddings,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    attention_dropout: 0,
    initializer_range: 0.02,
    torch_dtype: 'float32',
  };
}

/** The prefix Hugging Face puts before our parameter names in its state dict. */
export function hfPrefix(config: ModelConfig): string {
  return config.arch === 'gpt' ? 'transformer.' : 'model.';
}

/** Hugging Face state-dict name of one of our parameters ("lm_head.weight" has no prefix). */
export function toHfName(config: ModelConfig, name: string): string {
  return name === 'lm_head.weight' ? name : hfPrefix(config) + name;
}

/**
 * Our parameter name for a Hugging Face state-dict name, or null for entries we do not hold
 * (a tied "lm_head.weight", GPT-2's ".attn.bias" / ".attn.masked_bias" mask buffers, rotary caches).
 */
export function fromHfName(config: ModelConfig, hfName: string, params: ParameterStore): string | null {
  const prefix = hfPrefix(config);
  const name = hfName.startsWith(prefix) ? hfName.slice(prefix.length) : hfName;
  return params.infos.some((i) => i.name === name) ? name : null;
}

/** Every parameter as a named tensor under its Hugging Face name (views, not copies). */
export function hfStateDict(config: ModelConfig, params: ParameterStore): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const info of params.infos) {
    out.set(toHfName(config, info.name), { dtype: 'F32', shape: [...info.shape], data: params.value(info.name) });
  }
  return out;
}
