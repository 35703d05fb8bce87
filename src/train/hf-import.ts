// Hugging Face checkpoints in: a folder with config.json and model.safetensors (or shards listed in
// model.safetensors.index.json), as our export writes it or as `transformers` writes GPT-2 and
// Llama (prefixed or bare names, F32/F16/BF16, GPT-2's mask buffers, a tied lm_head copy),
// becomes a ModelConfig and weights in a ParameterStore, to continue training or to sample.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kernels } from '../kernels/kernels.js';
import type { CausalLM } from '../nn/causal-lm.js';
import { createModel, validateModelConfig } from '../nn/create-model.js';
import { hfPrefix } from '../nn/hf-export.js';
import type { ModelConfig } from '../nn/model-config.js';
import type { ParameterStore } from '../nn/parameters.js';
import type { ConfigLayer } from './config.js';
import { CheckpointError } from './errors.js';

/** A tensor read from a Hugging Face file, converted to fp32. */
export interface HfTensor {
  shape: number[];
  data: Float32Array;
}

export interface HfCheckpoint {
  dir: string;
  config: ModelConfig;
  /** Every tensor of the checkpoint under its file name (prefixes kept). */
  tensors: Map<string, HfTensor>;
}

let f16Table: Float32Array | null = null;

/** fp32 value of every fp16 bit pattern, built once (65536 entries). */
function f16Values(): Float32Array {
  if (f16Table) return f16Table;
  f16Table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    f16Table[h] = exp === 0 ? sign * 2 ** -14 * (frac / 1024) : exp === 31 ? (frac === 0 ? sign * Infinity : NaN) : sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return f16Table;
}

/** Converts one tensor's little-endian bytes (read on a little-endian host) to fp32; refuses non-float dtypes. */
function toF32(raw: Uint8Array, dtype: string, name: string, source: string): Float32Array {
  // A copy gives the typed-array views below an aligned buffer of their own.
  const buf = new Uint8Array(raw).buffer;
  if (dtype === 'F32') return new Float32Array(buf);
  if (dtype === 'F64') return Float32Array.from(new Float64Array(buf));
  if (dtype === 'BF16') {
    const src = new Uint16Array(buf);
    const out = new Float32Array(src.length);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < src.length; i++) bits[i] = (src[i] as number) << 16;
    return out;
  }
  if (dtype === 'F16') {
    const table = f16Values();
    const src = new Uint16Array(buf);
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = table[src[i] as number] as number;
    return out;
  }
  throw new CheckpointError(`${source}: tensor ${name} has dtype ${dtype}; importable: F32, F16, BF16, F64`);
}

/** Reads every tensor of one safetensors file as fp32 (our decoder reads F32 and I32 only). */
export function readHfSafetensors(path: string, into = new Map<string, HfTensor>()): Map<string, HfTensor> {
  const bytes = readFileSync(path);
  if (bytes.length < 8) throw new CheckpointError(`${path} is too short to be a safetensors file`);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  if (8 + headerLen > bytes.length) throw new CheckpointError(`${path}: header length ${headerLen} exceeds the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as typeof header;
  } catch {
    throw new CheckpointError(`${path}: the safetensors header is not valid JSON`);
  }
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = e.data_offsets;
    if (begin > end || 8 + headerLen + end > bytes.length) throw new CheckpointError(`${path}: tensor ${name} points outside the file`);
    const data = toF32(bytes.subarray(8 + headerLen + begin, 8 + headerLen + end), e.dtype, name, path);
    if (data.length !== e.shape.reduce((a, b) => a * b, 1)) throw new CheckpointError(`${path}: tensor ${name} size does not match its shape`);
    into.set(name, { shape: e.shape, data });
  }
  return into;
}

function field<T>(hf: Record<string, unknown>, key: string, fallback: T, source: string): T {
  const v = hf[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== typeof fallback) throw new CheckpointError(`${source}: ${key} is ${JSON.stringify(v)}; expected a ${typeof fallback}`);
  return v as T;
}

function refuse(source: string, key: string, value: unknown, allowed: string): never {
  throw new CheckpointError(`${source}: ${key} = ${JSON.stringify(value)} is not supported by ulysses (${allowed})`);
}

const TANH_GELUS = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

/** The ModelConfig of a Hugging Face config.json object, with `transformers`' defaults for absent keys. */
export function modelConfigFromHf(hf: Record<string, unknown>, source = 'config.json'): ModelConfig {
  const type = hf.model_type;
  let mc: ModelConfig;
  if (type === 'gpt2') {
    const C = field(hf, 'n_embd', 768, source);
    const act = field(hf, 'activation_function', 'gelu_new', source);
    if (!TANH_GELUS.includes(act)) refuse(source, 'activation_function', act, `GPT-2 blocks use the tanh GELU: ${TANH_GELUS.join(', ')}`);
    if (field(hf, 'scale_attn_by_inverse_layer_idx', false, source)) refuse(source, 'scale_attn_by_inverse_layer_idx', true, 'must be false');
    if (!field(hf, 'scale_attn_weights', true, source)) refuse(source, 'scale_attn_weights', false, 'must be true');
    if (!field(hf, 'tie_word_embeddings', true, source)) refuse(source, 'tie_word_embeddings', false, 'GPT-2 models tie lm_head to wte');
    const H = field(hf, 'n_head', 12, source);
    mc = {
      arch: 'gpt', vocab_size: field(hf, 'vocab_size', 50257, source), max_seq_len: field(hf, 'n_positions', 1024, source),
      d_model: C, n_layers: field(hf, 'n_layer', 12, source), n_heads: H, n_kv_heads: H, d_ff: field(hf, 'n_inner', 4 * C, source),
      norm_eps: field(hf, 'layer_norm_epsilon', 1e-5, source), rope_theta: 10000, tie_embeddings: true,
    };
  } else if (type === 'llama') {
    const C = field(hf, 'hidden_size', 4096, source);
    const H = field(hf, 'num_attention_heads', 32, source);
    const headDim = field(hf, 'head_dim', C / H, source);
    if (headDim !== C / H) refuse(source, 'head_dim', headDim, `must equal hidden_size / num_attention_heads = ${C / H}`);
    const act = field(hf, 'hidden_act', 'silu', source);
    if (act !== 'silu') refuse(source, 'hidden_act', act, 'Llama MLPs here are SwiGLU: "silu"');
    if (hf.rope_scaling !== undefined && hf.rope_scaling !== null) refuse(source, 'rope_scaling', hf.rope_scaling, 'plain RoPE only: null');
    for (const key of ['attention_bias', 'mlp_bias']) if (field(hf, key, false, source)) refuse(source, key, true, 'projections have no bias: false');
    mc = {
      arch: 'llama', vocab_size: field(hf, 'vocab_size', 32000, source), max_seq_len: field(hf, 'max_position_embeddings', 2048, source),
      d_model: C, n_layers: field(hf, 'num_hidden_layers', 32, source), n_heads: H, n_kv_heads: field(hf, 'num_key_value_heads', H, source),
      d_ff: field(hf, 'intermediate_size', 11008, source), norm_eps: field(hf, 'rms_norm_eps', 1e-6, source),
      rope_theta: field(hf, 'rope_theta', 10000, source), tie_embeddings: field(hf, 'tie_word_embeddings', false, source),
    };
  } else {
    return refuse(source, 'model_type', type, 'importable: "gpt2", "llama"');
  }
  try {
    validateModelConfig(mc);
  } catch (err: unknown) {
    throw new CheckpointError(`${source}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return mc;
}

/** A ulysses run folder stands for its checkpoint/, as it does for --resume. */
function modelDir(dir: string): string {
  const inner = join(dir, 'checkpoint');
  return !existsSync(join(dir, 'model.safetensors')) && existsSync(join(inner, 'config.json')) ? inner : dir;
}

/** The ModelConfig of a Hugging Face model folder, from its config.json alone (no weights read). */
export function readHfModelConfig(folder: string): ModelConfig {
  const dir = modelDir(folder);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new CheckpointError(`${dir} has no config.json: not a Hugging Face model folder`);
  let hf: Record<string, unknown>;
  try {
    hf = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new CheckpointError(`${configPath} is not valid JSON`);
  }
  return modelConfigFromHf(hf, configPath);
}

/** Reads a Hugging Face model folder: config.json plus one safetensors file or an index of shards. */
export function readHfCheckpoint(folder: string): HfCheckpoint {
  const dir = modelDir(folder);
  const config = readHfModelConfig(dir);
  const tensors = new Map<string, HfTensor>();
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(single)) readHfSafetensors(single, tensors);
  else if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    for (const file of new Set(Object.values(map))) readHfSafetensors(join(dir, file), tensors);
  } else if (existsSync(join(dir, 'pytorch_model.bin'))) {
    throw new CheckpointError(`${dir} holds pytorch_model.bin (pickle), which ulysses does not read; re-save it with save_pretrained(dir, safe_serialization=True)`);
  } else {
    throw new CheckpointError(`${dir} has neither model.safetensors nor model.safetensors.index.json`);
  }
  return { dir, config, tensors };
}

/** Whether a file entry is a buffer `transformers` may save that is not a parameter. */
function isBuffer(name: string): boolean {
  return /\.attn\.(masked_)?bias$/.test(name) || name.endsWith('rotary_emb.inv_freq');
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Copies a checkpoint's weights into a ParameterStore of the same config: every parameter must be
 * present with its shape, and every file tensor must be a parameter, a known buffer, or a tied copy.
 */
export function loadHfWeights(ckpt: HfCheckpoint, params: ParameterStore): void {
  const prefix = hfPrefix(ckpt.config);
  const byOurName = new Map<string, HfTensor>();
  for (const [fileName, t] of ckpt.tensors) {
    if (isBuffer(fileName)) continue;
    const name = fileName.startsWith(prefix) ? fileName.slice(prefix.length) : fileName;
    if (byOurName.has(name)) throw new CheckpointError(`${ckpt.dir}: tensor ${name} appears both with and without the "${prefix}" prefix`);
    byOurName.set(name, t);
  }
  const tiedHead = ckpt.config.tie_embeddings ? byOurName.get('lm_head.weight') : undefined;
  if (tiedHead) {
    const emb = byOurName.get(ckpt.config.arch === 'gpt' ? 'wte.weight' : 'embed_tokens.weight');
    if (emb && !sameValues(emb.data, tiedHead.data)) {
      throw new CheckpointError(`${ckpt.dir}: config.json ties the embeddings but lm_head.weight differs from the token embedding`);
    }
    byOurName.delete('lm_head.weight');
  }
  for (const info of params.infos) {
    const t = byOurName.get(info.name);
    if (!t) throw new CheckpointError(`${ckpt.dir} has no tensor ${prefix}${info.name} (nor ${info.name}), which this ${ckpt.config.arch} model needs`);
    if (t.shape.join(',') !== info.shape.join(',')) {
      throw new CheckpointError(`${ckpt.dir}: tensor ${info.name} has shape [${t.shape.join(', ')}]; config.json implies [${info.shape.join(', ')}]`);
    }
    params.value(info.name).set(t.data);
    byOurName.delete(info.name);
  }
  if (byOurName.size > 0) {
    const extra = [...byOurName.keys()].slice(0, 5).join(', ');
    throw new CheckpointError(`${ckpt.dir} has tensors this model has no place for (${extra}${byOurName.size > 5 ? ', ...' : ''}): a different architecture?`);
  }
}

/** Builds the model a Hugging Face folder describes, with its weights. */
export function importHfModel(dir: string, kernels: Kernels): CausalLM {
  const ckpt = readHfCheckpoint(dir);
  const model = createModel(ckpt.config, { kernels, seed: 0 });
  loadHfWeights(ckpt, model.params);
  return model;
}

/**
 * Starts a freshly built model from a Hugging Face folder's weights (`--init-from`), refusing a
 * model whose architecture differs from the folder's config.json, with the differing field named
 * (a Llama model may differ in max_seq_len and rope_theta, which no weight depends on).
 */
export function initFromHf(model: CausalLM, dir: string): void {
  const ckpt = readHfCheckpoint(dir);
  for (const key of Object.keys(ckpt.config) as (keyof ModelConfig)[]) {
    // RoPE has no position table, so a Llama model may train on other lengths than it was saved
    // with, and with another rotary base (raising it is how a model is moved to longer contexts).
    if ((key === 'max_seq_len' || key === 'rope_theta') && ckpt.config.arch === 'llama') continue;
    if (ckpt.config[key] !== model.config[key]) {
      throw new CheckpointError(`--init-from ${dir}: its config.json gives ${key} = ${String(ckpt.config[key])}, the run's model has ${String(model.config[key])}`);
    }
  }
  loadHfWeights(ckpt, model.params);
}

/** The `model` section of a ulysses config that builds this ModelConfig (for `--init-from`). */
export function ulyssesModelSection(mc: ModelConfig): Record<string, string | number | boolean> {
  return {
    type: mc.arch, d_model: mc.d_model, n_layers: mc.n_layers, n_heads: mc.n_heads, n_kv_heads: mc.n_kv_heads,
    d_ff: mc.d_ff, vocab_size: mc.vocab_size, max_seq_len: mc.max_seq_len, norm_eps: mc.norm_eps,
    rope_theta: mc.rope_theta, tie_embeddings: mc.tie_embeddings,
  };
}

/** The config layer `--init-from <dir>` adds last: the model section the folder's config.json implies. */
export function hfModelLayer(dir: string): ConfigLayer {
  return { kind: 'json', value: { model: ulyssesModelSection(readHfModelConfig(dir)) }, source: `--init-from ${join(dir, 'config.json')}` };
}
