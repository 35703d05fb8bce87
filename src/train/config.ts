// The typed run config: defaults, layering (defaults <- config file <- CLI overrides), the
// checks that span several keys, and the resolution of "auto" values.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ModelConfig } from '../nn/model-config.js';
import type { MemoryOptions } from '../nn/memory-options.js';
import type { ZeroStage } from '../parallel/zero/engine.js';
import { allowedSpSizes } from '../parallel/ulysses/plan.js';
import { checkMegatronSp, MegatronSpConfigError } from '../parallel/megatron-sp/sizes.js';
import { ringModeDegrees } from '../parallel/usp/degrees.js';
import { RingConfigError } from '../parallel/ring/zigzag.js';
import { checkAttentionConfig, defaultAttentionConfig, type AttentionConfig } from './attention-config.js';
import { CONFIG_SCHEMA } from './config-schema.js';
import { ConfigError } from './errors.js';
import { checkLeaf, lookupPath, mergeLayer, nestPath } from './schema.js';

type Auto = 'auto';

/** How the sequence-parallel ranks split attention: Ulysses, or one of the baselines beside it. */
export type SequenceParallelMode = 'ulysses' | 'megatron' | 'ring' | 'hybrid';

export interface UlyssesConfig {
  train_micro_batch_size_per_gpu: number;
  gradient_accumulation_steps: number;
  train_batch_size: number | Auto;
  gradient_clipping: number;
  steps_per_print: number;
  seed: number;
  sequence_parallel_size: number;
  data_parallel_size: number;
  sequence_parallel: { mode: SequenceParallelMode; ring_size: number | Auto };
  zero_optimization: { stage: ZeroStage };
  bf16: { enabled: boolean };
  activation_checkpointing: {
    enabled: boolean;
    mlp_tile_tokens: number | Auto;
    logits_tile_tokens: number | Auto;
    bf16_activations: boolean;
  };
  optimizer: {
    type: 'AdamW';
    params: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  };
  scheduler: {
    type: 'WarmupCosineLR';
    params: {
      warmup_num_steps: number | Auto;
      total_num_steps: number | Auto;
      warmup_min_ratio: number;
      cos_min_ratio: number;
      warmup_type: 'linear' | 'log';
    };
  };
  model: {
    type: 'gpt' | 'llama';
    d_model: number;
    n_layers: number;
    n_heads: number;
    n_kv_heads: number | Auto;
    d_ff: number | Auto;
    vocab_size: number;
    max_seq_len: number;
    norm_eps: number;
    rope_theta: number;
    tie_embeddings: boolean;
  };
  attention: AttentionConfig;
  data: {
    corpus: string;
    /** "bytes" or the path of a Hugging Face tokenizer.json (or its folder). */
    tokenizer: string;
    seq_len: number;
    /** Document ids and doc-relative positions per window, so attention stays inside documents. */
    pack_documents: boolean;
    val_fraction: number;
    val_every: number;
    val_batches: number;
    /** Generated tasks: null = one sample per row; else samples of this many to seq_len tokens packed into each row. */
    task_min_len: number | null;
    /** Generated tasks with task_min_len: the share of rows that hold one sample of seq_len tokens all the same. */
    task_whole_share: number;
    /** Generated tasks: the loss on the answer bytes only, or on every byte. */
    task_loss: 'answer' | 'all';
  };
  train: {
    steps: number;
    kernels: 'native' | 'reference';
    threads: number | Auto;
    /** Worker-thread ranks computing at once (placement.ts); "auto" = min(ranks, cores). */
    rank_concurrency: number | Auto;
    backend: 'auto' | 'threads' | 'mpi';
    out_dir: string;
    run_name: string | null;
    checkpoint_every: number;
    /** Hugging Face model folder whose weights start the run, or null for a random init. */
    init_from: string | null;
  };
}

/**
 * The default run: a byte-level Llama-style model (0.84M parameters) on 1024-byte windows of the
 * Brown corpus, sequence-parallel over 2 worker threads. Measured on two cores (about 0.11 s per
 * step, 7 ms of it communication): the loss leaves the byte-bigram plateau (~2.5) within 200
 * steps; validation is 2.18 at step 250, 1.95 at 500, 1.77 at 1000 and 1.67 at 1500, about three
 * minutes in all. A GPT of the same size at this length was still on the plateau (2.47) after 600
 * steps of 4 windows: its learned position table learns slowly.
 */
export function defaultConfig(): UlyssesConfig {
  return {
    train_micro_batch_size_per_gpu: 2,
    gradient_accumulation_steps: 1,
    train_batch_size: 'auto',
    gradient_clipping: 1.0,
    steps_per_print: 50,
    seed: 1234,
    sequence_parallel_size: 2,
    data_parallel_size: 1,
    sequence_parallel: { mode: 'ulysses', ring_size: 'auto' },
    zero_optimization: { stage: 0 },
    bf16: { enabled: false },
    activation_checkpointing: { enabled: false, mlp_tile_tokens: 0, logits_tile_tokens: 0, bf16_activations: false },
    // A small model on bytes tolerates a high learning rate; beta2 0.99 as nanoGPT uses for small runs.
    optimizer: { type: 'AdamW', params: { lr: 2e-3, betas: [0.9, 0.99], eps: 1e-8, weight_decay: 0.1 } },
    scheduler: {
      type: 'WarmupCosineLR',
      params: { warmup_num_steps: 'auto', total_num_steps: 'auto', warmup_min_ratio: 0, cos_min_ratio: 0.1, warmup_type: 'linear' },
    },
    model: {
      type: 'llama',
      d_model: 128,
      n_layers: 4,
      n_heads: 4,
      n_kv_heads: 'auto',
      d_ff: 'auto',
      vocab_size: 256,
      max_seq_len: 1024,
      norm_eps: 1e-5,
      rope_theta: 10000,
      tie_embeddings: true,
    },
    attention: defaultAttentionConfig(),
    data: { corpus: 'brown', tokenizer: 'bytes', seq_len: 1024, pack_documents: false, val_fraction: 0.01, val_every: 250, val_batches: 4, task_min_len: null, task_whole_share: 0, task_loss: 'answer' },
    train: {
      steps: 1500,
      kernels: 'native',
      threads: 'auto',
      rank_concurrency: 'auto',
      backend: 'auto',
      out_dir: 'runs',
      run_name: null,
      checkpoint_every: 500,
      init_from: null,
    },
  };
}

/** One source of settings, applied in order over the defaults. */
export type ConfigLayer =
  | { kind: 'json'; value: unknown; source: string }
  | { kind: 'set'; path: string; value: unknown; source: string };

/** Reads a JSON config file, refusing missing files and bad JSON by name. */
export function readConfigFile(path: string): ConfigLayer {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err: unknown) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { kind: 'json', value, source: path };
}

/**
 * Parses a `--set key.path=value` override. The value is read as JSON when it parses
 * (numbers, true/false, null, arrays) and as a plain string otherwise.
 */
export function parseSetOverride(text: string): ConfigLayer {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set expects key.path=value, got ${JSON.stringify(text)}`);
  const path = text.slice(0, eq).trim();
  const rawValue = text.slice(eq + 1).trim();
  let value: unknown = rawValue;
  try {
    value = JSON.parse(rawValue);
  } catch {
    // Not JSON: keep the text as a string value (e.g. data.corpus=brown).
  }
  return { kind: 'set', path, value, source: `--set ${path}` };
}

function isSection(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Gives `target` the default of every key it lacks, so a checkpoint saved before a key existed resumes. */
function addMissingDefaults(target: Record<string, unknown>, defaults: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(defaults)) {
    const have = target[key];
    if (have === undefined) target[key] = structuredClone(value);
    else if (isSection(have) && isSection(value)) addMissingDefaults(have, value);
  }
}

/** Applies the layers over the defaults, then checks keys that depend on each other. */
export function buildConfig(layers: readonly ConfigLayer[], base: UlyssesConfig = defaultConfig()): UlyssesConfig {
  const merged = structuredClone(base) as unknown as Record<string, unknown>;
  addMissingDefaults(merged, defaultConfig() as unknown as Record<string, unknown>);
  for (const layer of layers) {
    if (layer.kind === 'json') {
      mergeLayer(merged, layer.value, CONFIG_SCHEMA, '', layer.source);
    } else {
      const spec = lookupPath(CONFIG_SCHEMA, layer.path);
      if (spec.kind === 'section') throw new ConfigError(`config key ${layer.path} is a section; set one of its keys`);
      checkLeaf(layer.path, spec, layer.value);
      mergeLayer(merged, nestPath(layer.path, layer.value), CONFIG_SCHEMA, '', layer.source);
    }
  }
  const config = merged as unknown as UlyssesConfig;
  checkConfig(config);
  return config;
}

/** The checks no single key can make. */
export function checkConfig(c: UlyssesConfig): void {
  const m = c.model;
  const fail = (msg: string): never => {
    throw new ConfigError(msg);
  };
  if (m.d_model % m.n_heads !== 0) fail(`model.n_heads (${m.n_heads}) must divide model.d_model (${m.d_model})`);
  const kv = m.n_kv_heads === 'auto' ? m.n_heads : m.n_kv_heads;
  if (m.n_heads % kv !== 0) fail(`model.n_kv_heads (${kv}) must divide model.n_heads (${m.n_heads})`);
  if (m.type === 'gpt') {
    if (kv !== m.n_heads) fail(`model.n_kv_heads must equal model.n_heads (${m.n_heads}) for model.type "gpt"; use "llama" for grouped-query attention`);
    if (!m.tie_embeddings) fail('model.tie_embeddings must be true for model.type "gpt"');
  } else if ((m.d_model / m.n_heads) % 2 !== 0) {
    fail(`model.d_model / model.n_heads (${m.d_model / m.n_heads}) must be even for RoPE in model.type "llama"`);
  }
  // A tokenizer file's vocabulary is only known once it is read (openRunData checks it then).
  if (c.data.tokenizer === 'bytes' && m.vocab_size < 256) {
    fail(`model.vocab_size must be >= 256 for the byte tokenizer (data.tokenizer "bytes"), got ${m.vocab_size}`);
  }
  if (c.data.seq_len > m.max_seq_len) {
    fail(`data.seq_len (${c.data.seq_len}) exceeds model.max_seq_len (${m.max_seq_len}); raise model.max_seq_len or lower data.seq_len`);
  }
  checkAttentionConfig(c.attention);
  const sp = c.sequence_parallel_size;
  const ringMode = c.sequence_parallel.mode === 'ring' || c.sequence_parallel.mode === 'hybrid';
  if (c.sequence_parallel.mode === 'megatron') checkMegatronMode(c, fail);
  if (ringMode && sp > 1) checkRingMode(c, kv, fail);
  else if (sp > m.n_heads) {
    fail(
      `sequence_parallel_size (${sp}) exceeds model.n_heads (${m.n_heads}): Ulysses gives every rank at least one attention head; ` +
        `use a size in ${allowedSpSizes(m.n_heads, c.data.seq_len)}`,
    );
  }
  if (sp > c.data.seq_len) {
    fail(
      `sequence_parallel_size (${sp}) exceeds data.seq_len (${c.data.seq_len}): every rank needs at least one token; ` +
        `use a size in ${allowedSpSizes(m.n_heads, c.data.seq_len)}`,
    );
  }
  const perStep = c.train_micro_batch_size_per_gpu * c.gradient_accumulation_steps * c.data_parallel_size;
  if (c.train_batch_size !== 'auto' && c.train_batch_size !== perStep) {
    fail(
      `train_batch_size (${c.train_batch_size}) must equal train_micro_batch_size_per_gpu * gradient_accumulation_steps ` +
        `* data_parallel_size (${c.data_parallel_size}) = ${perStep}`,
    );
  }
  const total = schedulerTotalSteps(c);
  if (warmupSteps(c) > total) {
    fail(`scheduler.params.warmup_num_steps (${warmupSteps(c)}) exceeds total_num_steps (${total})`);
  }
}

/** Mode "megatron": the degree splits heads and MLP columns; ZeRO stage 0 or 1; fp32 on the wire; the memory toolkit applies. */
function checkMegatronMode(c: UlyssesConfig, fail: (msg: string) => never): void {
  try {
    checkMegatronSp(c.sequence_parallel_size, modelConfigOf(c), c.data.seq_len, c.zero_optimization.stage);
  } catch (err: unknown) {
    if (err instanceof MegatronSpConfigError) fail(err.message);
    throw err;
  }
  if (c.bf16.enabled) fail('sequence_parallel.mode "megatron" sends fp32 only; bf16.enabled (bf16 all-to-alls) applies to mode "ulysses"');
}

/** Modes "ring" and "hybrid": the zigzag and Ulysses x ring sizes, and what ring attention cannot split. */
function checkRingMode(c: UlyssesConfig, kvHeads: number, fail: (msg: string) => never): void {
  const mode = c.sequence_parallel.mode as 'ring' | 'hybrid';
  try {
    ringModeDegrees(mode, c.sequence_parallel_size, c.sequence_parallel.ring_size, c.data.seq_len, c.model.n_heads, kvHeads);
  } catch (err: unknown) {
    if (err instanceof RingConfigError) fail(err.message);
    throw err;
  }
  const why = `ring attention splits causal attention by chunk pairs; use sequence_parallel.mode "ulysses" for it`;
  if (c.attention.kind === 'sliding_window' || c.attention.kind === 'block_sparse') {
    fail(`sequence_parallel.mode "${mode}" supports attention.kind "flash" and "dense", not "${c.attention.kind}": ${why}`);
  }
  if (c.data.pack_documents) fail(`sequence_parallel.mode "${mode}" cannot mask packed documents (data.pack_documents): ${why}`);
  if (c.bf16.enabled) fail(`sequence_parallel.mode "${mode}" sends fp32 only; bf16.enabled (bf16 all-to-alls) applies to mode "ulysses"`);
}

/**
 * The ring degree of the sequence-parallel ranks: sequence_parallel_size in mode "ring", the
 * resolved sequence_parallel.ring_size in mode "hybrid", 1 otherwise (and whenever sp = 1).
 */
export function ringSizeOf(c: UlyssesConfig): number {
  const mode = c.sequence_parallel.mode;
  const sp = c.sequence_parallel_size;
  if (sp === 1 || (mode !== 'ring' && mode !== 'hybrid')) return 1;
  const kv = c.model.n_kv_heads === 'auto' ? c.model.n_heads : c.model.n_kv_heads;
  return ringModeDegrees(mode, sp, c.sequence_parallel.ring_size, c.data.seq_len, c.model.n_heads, kv).ring;
}

/** The model hyperparameters with "auto" values resolved. */
export function modelConfigOf(c: UlyssesConfig): ModelConfig {
  const m = c.model;
  const dff = m.d_ff !== 'auto' ? m.d_ff : m.type === 'gpt' ? 4 * m.d_model : 32 * Math.ceil((8 * m.d_model) / 3 / 32);
  return {
    arch: m.type,
    vocab_size: m.vocab_size,
    max_seq_len: m.max_seq_len,
    d_model: m.d_model,
    n_layers: m.n_layers,
    n_heads: m.n_heads,
    n_kv_heads: m.n_kv_heads === 'auto' ? m.n_heads : m.n_kv_heads,
    d_ff: dff,
    norm_eps: m.norm_eps,
    rope_theta: m.rope_theta,
    tie_embeddings: m.tie_embeddings,
  };
}

/** The model's memory toolkit options from the activation_checkpointing section. */
export function memoryOptionsOf(c: UlyssesConfig): MemoryOptions {
  const a = c.activation_checkpointing;
  return {
    checkpoint: a.enabled, mlpTile: a.mlp_tile_tokens, logitsTile: a.logits_tile_tokens, bf16Activations: a.bf16_activations,
  };
}

export function schedulerTotalSteps(c: UlyssesConfig): number {
  const t = c.scheduler.params.total_num_steps;
  return t === 'auto' ? c.train.steps : t;
}

/** Warmup length; "auto" is 5% of the schedule, rounded up. */
export function warmupSteps(c: UlyssesConfig): number {
  const w = c.scheduler.params.warmup_num_steps;
  return w === 'auto' ? Math.ceil(0.05 * schedulerTotalSteps(c)) : w;
}

/** Ranks of a run: sequence-parallel × data-parallel size. */
export function worldSizeOf(c: UlyssesConfig): number {
  return c.sequence_parallel_size * c.data_parallel_size;
}

export function threadsOf(c: UlyssesConfig): number {
  return c.train.threads === 'auto' ? availableParallelism() : c.train.threads;
}

/** Where two configs first differ (key path and both values as JSON), or null when they are equal. */
export function configDifference(mine: unknown, theirs: unknown, path = ''): { path: string; mine: string; theirs: string } | null {
  if (isSection(mine) && isSection(theirs)) {
    for (const key of new Set([...Object.keys(mine), ...Object.keys(theirs)])) {
      const d = configDifference(mine[key], theirs[key], path ? `${path}.${key}` : key);
      if (d) return d;
    }
    return null;
  }
  const a = JSON.stringify(mine) ?? 'missing';
  const b = JSON.stringify(theirs) ?? 'missing';
  return a === b ? null : { path: path || 'the config', mine: a, theirs: b };
}
