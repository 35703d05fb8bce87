// The model a plan is for: a preset name or a config.json path (the fields of ModelConfig, or a
// Hugging Face config.json of a GPT-2 or Llama model), with flag overrides on top; and the sizes
// of its ZeRO units, from the engine's own parameter layout.
import { existsSync, readFileSync } from 'node:fs';
import { modelLayout } from '../nn/create-model.js';
import type { ModelConfig } from '../nn/model-config.js';
import { validateModelConfig } from '../nn/validate-config.js';
import { MODEL_PRESETS, modelPreset } from './presets.js';
import { PlanError } from './plan-error.js';

/** Hugging Face config.json keys and the ModelConfig field each one sets. */
const HF_KEYS: Readonly<Record<string, keyof ModelConfig>> = {
  hidden_size: 'd_model', n_embd: 'd_model', num_hidden_layers: 'n_layers', n_layer: 'n_layers',
  num_attention_heads: 'n_heads', n_head: 'n_heads', num_key_value_heads: 'n_kv_heads', intermediate_size: 'd_ff',
  n_inner: 'd_ff', max_position_embeddings: 'max_seq_len', n_positions: 'max_seq_len', rms_norm_eps: 'norm_eps',
  layer_norm_epsilon: 'norm_eps', tie_word_embeddings: 'tie_embeddings',
};

function fromJson(path: string): ModelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PlanError(`--model ${path}: cannot read it as JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) throw new PlanError(`--model ${path}: expected a JSON object of model fields`);
  const r = raw as Record<string, unknown>;
  const type = r.arch ?? r.model_type;
  const arch = type === 'gpt' || type === 'gpt2' ? 'gpt' : type === 'llama' ? 'llama' : null;
  if (!arch) throw new PlanError(`--model ${path}: "arch" (or "model_type") is ${JSON.stringify(type)}; allowed: "gpt", "llama"`);
  const base: ModelConfig = { ...(arch === 'gpt' ? modelPreset('gpt-7b') : modelPreset('llama3-8b')) };
  const out = base as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(r)) {
    if (k === 'arch' || k === 'model_type') continue;
    const key = (k in base ? k : HF_KEYS[k]) as string | undefined;
    if (key) out[key] = v;
  }
  out.arch = arch;
  if (r.num_key_value_heads === undefined && r.n_kv_heads === undefined) out.n_kv_heads = out.n_heads;
  if (r.intermediate_size === undefined && r.n_inner === undefined && r.d_ff === undefined) out.d_ff = 4 * (out.d_model as number);
  if (arch === 'gpt') out.tie_embeddings = true;
  return base;
}

/** A preset name or a JSON path, then overrides; validated like a training config. */
export function resolveModel(spec: string, overrides: Partial<ModelConfig> = {}): { name: string; config: ModelConfig } {
  const isPreset = spec.toLowerCase() in MODEL_PRESETS;
  if (!isPreset && !spec.endsWith('.json')) {
    throw new PlanError(`unknown model preset "${spec}"; allowed: ${Object.keys(MODEL_PRESETS).join(', ')}, or a path to a config.json`);
  }
  if (!isPreset && !existsSync(spec)) throw new PlanError(`--model ${spec}: no such file`);
  const config = { ...(isPreset ? modelPreset(spec) : fromJson(spec)), ...overrides };
  try {
    validateModelConfig(config);
  } catch (e) {
    throw new PlanError(`--model ${spec}: ${(e as Error).message}`);
  }
  return { name: isPreset ? spec.toLowerCase() : spec, config };
}

const unitCache = new Map<string, number[]>();

/** Elements of each ZeRO unit (unit 0: embeddings, final norm and head; then one per block). */
export function modelUnits(c: ModelConfig): number[] {
  const key = JSON.stringify(c);
  const hit = unitCache.get(key);
  if (hit) return hit;
  const layout = modelLayout(c);
  const size = new Map(layout.infos.map((i) => [i.name, i.size]));
  const units = layout.units.map((names) => names.reduce((s, n) => s + (size.get(n) ?? 0), 0));
  unitCache.set(key, units);
  return units;
}

export function parameterCount(c: ModelConfig): number {
  return modelUnits(c).reduce((s, u) => s + u, 0);
}

/**
 * The model as trained on sequences of seq tokens: GPT's learned position table has one row per
 * position (Megatron-DeepSpeed's scripts set --max-position-embeddings to the sequence length),
 * so its parameters grow with the sequence; Llama's RoPE has no table.
 */
export function sizedForSequence(c: ModelConfig, seq: number): ModelConfig {
  return c.max_seq_len === seq ? c : { ...c, max_seq_len: seq };
}
