// The flags of `ulysses bench` as checked values: strategies, sequence lengths, sequence-parallel
// degrees, steps, the model (a preset or a config file) and the memory budget. Bad input is refused
// with a message naming the flag and what it accepts.
import { existsSync } from 'node:fs';
import { readConfigFile, type ConfigLayer } from '../../train/config.js';
import type { SequenceParallelMode } from '../../train/config.js';
import { ConfigError } from '../../train/errors.js';

export const ALL_MODES: readonly SequenceParallelMode[] = ['ulysses', 'megatron', 'ring', 'hybrid'];

export interface BenchOptions {
  modes: SequenceParallelMode[];
  /** Sequence lengths N, ascending. */
  seqs: number[];
  /** Sequence-parallel degrees P, ascending. */
  sps: number[];
  /** Measured steps; one warm-up step runs before them. */
  steps: number;
  /** The model: a preset name or a config file path. */
  model: string;
  /** Config layers the model contributes (lowest priority first). */
  modelLayers: ConfigLayer[];
  memBudgetBytes: number;
  outDir: string;
}

/** Named models: `reference` is DESIGN.md's reference GPT; `tiny` runs in seconds (tests, smoke runs). */
export const MODEL_PRESETS: Readonly<Record<string, Record<string, unknown>>> = {
  reference: { type: 'gpt', d_model: 256, n_layers: 4, n_heads: 8, n_kv_heads: 'auto', vocab_size: 256 },
  tiny: { type: 'gpt', d_model: 32, n_layers: 2, n_heads: 4, n_kv_heads: 'auto', vocab_size: 256 },
};

function fail(msg: string): never {
  throw new ConfigError(msg);
}

/** "1,2,4" as positive integers, ascending and without repeats. */
export function parseIntList(flag: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) fail(`${flag} needs a comma-separated list of positive integers, got "${text}"`);
  const out = parts.map((p) => {
    const v = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(v) || v < 1) fail(`${flag}: "${p}" is not a positive integer; give e.g. ${flag} 1,2,4`);
    return v;
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

export function parseModes(text: string): SequenceParallelMode[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) fail(`--modes needs a comma-separated list of ${ALL_MODES.join(', ')}`);
  const out: SequenceParallelMode[] = [];
  for (const p of parts) {
    const m = ALL_MODES.find((x) => x === p);
    if (!m) fail(`--modes: unknown strategy "${p}"; allowed: ${ALL_MODES.join(', ')}`);
    if (!out.includes(m)) out.push(m);
  }
  return out;
}

const UNITS: Readonly<Record<string, number>> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** "1GiB", "512MB", "2e9": bytes. */
export function parseBytes(flag: string, text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase() || 'b'];
  const v = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isFinite(v) || v <= 0) fail(`${flag}: "${text}" is not a size; give a number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. 1GiB`);
  return Math.floor(v);
}

/** A preset's model section, or the layers of a config file (its model, data and every other key). */
export function modelLayers(model: string): ConfigLayer[] {
  const preset = MODEL_PRESETS[model];
  if (preset) {
    return [{ kind: 'json', value: { model: preset, train_micro_batch_size_per_gpu: 1 }, source: `--model ${model}` }];
  }
  if (!existsSync(model)) fail(`--model: "${model}" is neither a preset (${Object.keys(MODEL_PRESETS).join(', ')}) nor a config file`);
  return [readConfigFile(model)];
}

export interface RawBenchFlags {
  modes: string;
  seq: string;
  sp: string;
  steps: string;
  model: string;
  memBudget: string;
  out: string;
}

export function parseBenchFlags(f: RawBenchFlags): BenchOptions {
  const [steps] = parseIntList('--steps', f.steps);
  if (steps === undefined || f.steps.includes(',')) fail(`--steps needs one positive integer, got "${f.steps}"`);
  return {
    modes: parseModes(f.modes),
    seqs: parseIntList('--seq', f.seq),
    sps: parseIntList('--sp', f.sp),
    steps,
    model: f.model,
    modelLayers: modelLayers(f.model),
    memBudgetBytes: parseBytes('--mem-budget', f.memBudget),
    outDir: f.out,
  };
}
