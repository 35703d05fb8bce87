// Assembles a one-worker training run from a config: kernels, model, data, run folder, peak-FLOPs
// measurement, optional resume; then hands everything to the Trainer. The pieces a parallel run
// shares with it (data checks, run folder, header lines) live here too.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LocalAttention } from '../attention/local-attention.js';
import type { Kernels } from '../kernels/kernels.js';
import { createNativeKernels, setNativeThreads } from '../kernels/native/native-kernels.js';
import { createReferenceKernels } from '../kernels/reference/reference-kernels.js';
import type { CausalLM } from '../nn/causal-lm.js';
import { createModel, estimateActivationBytes, modelLayout, validateModelConfig } from '../nn/create-model.js';
import type { ModelConfig } from '../nn/model-config.js';
import type { TokenSource } from './data/token-source.js';
import { writeFileAtomic } from '../tensor/safetensors.js';
import { defaultAttentionConfig, modelAttentionOptions, usesDenseReference } from './attention-config.js';
import { checkCheckpointFits, loadCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { buildConfig, memoryOptionsOf, modelConfigOf, threadsOf, worldSizeOf, type ConfigLayer, type UlyssesConfig } from './config.js';
import { openCorpus } from './data/corpus.js';
import { openTokenizer, type Tokenizer } from './data/hf-tokenizer.js';
import { splitTrainVal, type DataSplit, type PackOptions } from './data/sampler.js';
import { batchesFor } from './tasks/batches-for.js';
import { CheckpointError, ConfigError, UserError } from './errors.js';
import { initFromHf } from './hf-import.js';
import { flopsPerToken } from './metrics.js';
import { measurePeakFlops } from './peak-flops.js';
import { RunLog } from './run-log.js';
import { Trainer, type TrainResult } from './trainer.js';

/** Builds the kernels a config asks for; a missing native addon is a user error with a fix. */
export function kernelsFor(kind: 'native' | 'reference', threads: number): Kernels {
  if (kind === 'reference') return createReferenceKernels();
  try {
    const k = createNativeKernels();
    setNativeThreads(threads, threads);
    return k;
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UserError(`the native kernels could not be loaded (${why}); build them with \`npm run build:native\` or pass --kernels reference`);
  }
}

/** The model config after the model's own validation, reported as a config error. */
export function checkedModelConfig(c: UlyssesConfig): ModelConfig {
  const mc = modelConfigOf(c);
  try {
    validateModelConfig(mc);
  } catch (err: unknown) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
  return mc;
}

/** A one-worker model of a config, its attention variant included. */
export function buildModel(c: UlyssesConfig, kernels: Kernels): CausalLM {
  const mc = checkedModelConfig(c);
  // A checkpoint written before the attention section existed trained with the default attention.
  const a = (c as Partial<UlyssesConfig>).attention ?? defaultAttentionConfig();
  return createModel(mc, {
    kernels, seed: c.seed, attention: new LocalAttention(usesDenseReference(a) ? createReferenceKernels() : kernels),
    attentionMask: modelAttentionOptions(a, mc, c.data.seq_len, c.seed, false),
    // A checkpoint written before the section existed trained without the memory toolkit.
    ...((c as Partial<UlyssesConfig>).activation_checkpointing ? { memory: memoryOptionsOf(c) } : {}),
  });
}

/** The data stream gets its own seed so changing the model does not change the batches. */
export function dataSeed(seed: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + 1) >>> 0;
}

/** Config layering for `train`: defaults (or the checkpoint's config on resume) <- file <- flags. */
export function resolveRunConfig(layers: readonly ConfigLayer[], resumeDir: string | null): { config: UlyssesConfig; checkpoint: LoadedCheckpoint | null } {
  if (resumeDir === null) return { config: buildConfig(layers), checkpoint: null };
  const checkpoint = loadCheckpoint(resumeDir);
  const config = buildConfig(layers, checkpoint.state.config);
  const before = modelConfigOf(checkpoint.state.config);
  const after = modelConfigOf(config);
  for (const key of Object.keys(before) as (keyof ModelConfig)[]) {
    if (before[key] !== after[key]) {
      throw new CheckpointError(
        `checkpoint ${join(checkpoint.dir, 'trainer_state.json')} was trained with model ${key} = ${String(before[key])}; ` +
          `this run asks for ${String(after[key])}`,
      );
    }
  }
  return { config, checkpoint };
}

function timestampName(): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  return `run-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** The run folder: the checkpoint's parent on resume, else out_dir/run_name (which must be unused). */
export function prepareRunDir(c: UlyssesConfig, checkpoint: LoadedCheckpoint | null): string {
  const dir = checkpoint ? dirname(resolve(checkpoint.dir)) : join(c.train.out_dir, c.train.run_name ?? timestampName());
  if (!checkpoint && (existsSync(join(dir, 'metrics.jsonl')) || existsSync(join(dir, 'checkpoint')))) {
    throw new UserError(`run folder ${dir} already holds a run; continue it with --resume ${join(dir, 'checkpoint')} or pick another --name`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(c, null, 2)}\n`);
  return dir;
}

export interface RunOptions {
  log?: (line: string) => void;
  /** Skip the startup GEMM timing (MFU is then left out); tests use this. */
  skipPeakMeasurement?: boolean;
  /** Parallel runs: rank 0 prints no progress lines (they print from its thread, not through log). */
  quiet?: boolean;
}

export interface RunOutcome {
  runDir: string;
  result: TrainResult;
}

/** The corpus of a run, checked against the model and the checkpoint. */
export interface RunData {
  mc: ModelConfig;
  source: TokenSource;
  split: DataSplit;
}

/** The tokenizer data.tokenizer names, refused when the model's vocabulary cannot hold its ids. */
export function runTokenizer(c: UlyssesConfig, mc: ModelConfig): Tokenizer {
  const tok = openTokenizer(c.data.tokenizer);
  if (tok.vocabSize > mc.vocab_size) {
    throw new ConfigError(
      `model.vocab_size (${mc.vocab_size}) is smaller than the vocabulary of data.tokenizer ${c.data.tokenizer} (${tok.vocabSize} tokens); ` +
        `set model.vocab_size to at least ${tok.vocabSize}`,
    );
  }
  return tok;
}

/** The loader's packing: the run tokenizer's separator, refused when it has none. */
export function packOptions(c: UlyssesConfig, mc: ModelConfig): PackOptions | null {
  if (!c.data.pack_documents) return null;
  const sep = runTokenizer(c, mc).separatorId;
  if (sep === null) {
    throw new ConfigError(`data.pack_documents needs an end-of-document token, and data.tokenizer ${c.data.tokenizer} has none; set data.pack_documents to false`);
  }
  return { separator: sep };
}

/** Opens and checks the corpus, and the checkpoint's tensors against the model (the caller closes source). */
export function openRunData(c: UlyssesConfig, checkpoint: LoadedCheckpoint | null): RunData {
  const mc = checkedModelConfig(c);
  if (checkpoint) checkCheckpointFits(checkpoint, mc, modelLayout(mc).infos);
  const source = openCorpus(c.data.corpus, runTokenizer(c, mc));
  try {
    if (source.vocabSize > mc.vocab_size) {
      throw new ConfigError(`model.vocab_size (${mc.vocab_size}) is smaller than the vocabulary of ${source.description} (${source.vocabSize})`);
    }
    packOptions(c, mc); // refused here, before any rank starts, when the tokenizer has no separator
    const split = splitTrainVal(source, c.data.val_fraction, c.data.seq_len);
    if (checkpoint && checkpoint.state.data_tokens !== split.train.end) {
      throw new CheckpointError(
        `checkpoint ${checkpoint.dir} was trained on ${checkpoint.state.data_tokens} training tokens; ` +
          `data.corpus ${c.data.corpus} with data.val_fraction ${c.data.val_fraction} gives ${split.train.end}`,
      );
    }
    return { mc, source, split };
  } catch (err: unknown) {
    source.close();
    throw err;
  }
}

/** How the model states are held across the ranks of a run. */
function zeroSummary(c: UlyssesConfig): string {
  const stage = c.zero_optimization.stage;
  return stage === 0 ? 'model states replicated (ZeRO stage 0)' : `ZeRO stage ${stage} sharding model states over all ${worldSizeOf(c)}`;
}

/** The lines every run starts with: folder, model, data, and the resume point. */
export function logRunHeader(
  log: (line: string) => void, c: UlyssesConfig, d: RunData, numel: number, runDir: string, checkpoint: LoadedCheckpoint | null,
): void {
  const { mc, source, split } = d;
  log(`run ${runDir}: ${mc.arch} d_model ${mc.d_model}, ${mc.n_layers} layers, ${mc.n_heads} heads, ${(numel / 1e6).toFixed(2)}M parameters`);
  const world = worldSizeOf(c);
  const ranks = world > 1
    ? `; ${world} ranks (sequence_parallel_size ${c.sequence_parallel_size} x data_parallel_size ${c.data_parallel_size}), ${zeroSummary(c)}`
    : '';
  log(
    `data ${source.description}: ${split.train.end} training tokens, ${split.val ? split.val.end - split.val.start : 0} validation tokens, ` +
      `${source.documents} documents; ${c.train_micro_batch_size_per_gpu * c.data_parallel_size}x${c.data.seq_len} tokens x ` +
      `${c.gradient_accumulation_steps} micro-batches per step${ranks}`,
  );
  log(`model FLOPs per token (6N + 12*L*C*T): ${(flopsPerToken(mc, numel, c.data.seq_len) / 1e6).toFixed(2)} MFLOP`);
  if (checkpoint) log(`resuming from ${checkpoint.dir} at step ${checkpoint.state.step}`);
  if (checkpoint && checkpoint.state.step >= c.train.steps) {
    log(`the checkpoint is already at step ${checkpoint.state.step} >= train.steps ${c.train.steps}; raise --steps to train further`);
  }
}

/** Measures the sgemm rate MFU is reported against. */
export function measurePeak(kernels: Kernels, threads: number, log: (line: string) => void): number {
  const size = kernels.name === 'native' ? 1024 : 256;
  const p = measurePeakFlops(kernels, size, 0.3);
  log(`peak: ${size}^3 sgemm with ${kernels.name} kernels, ${threads} threads: ${(p.flopsPerSecond / 1e9).toFixed(1)} GFLOP/s (MFU is measured against this)`);
  return p.flopsPerSecond;
}

/** Runs one-worker training for a resolved config, resuming from `checkpoint` when given. */
export function runTraining(c: UlyssesConfig, checkpoint: LoadedCheckpoint | null, opts: RunOptions = {}): RunOutcome {
  if (worldSizeOf(c) > 1) {
    throw new ConfigError(`runTraining runs one worker; sequence_parallel_size x data_parallel_size = ${worldSizeOf(c)} needs launchTraining`);
  }
  const runLog = new RunLog(opts.log ?? ((line: string): void => console.log(line)));
  const log = runLog.log;
  const d = openRunData(c, checkpoint);
  const { mc, source, split } = d;
  try {
    const threads = threadsOf(c);
    const kernels = kernelsFor(c.train.kernels, threads);
    const model = buildModel(c, kernels);
    // A resumed run takes its weights from the checkpoint, which already continues the imported ones.
    if (c.train.init_from !== null && !checkpoint) initFromHf(model, c.train.init_from);
    const pack = packOptions(c, mc);
    const { data: sampler, val } = batchesFor(source, split, c.data.seq_len, c.train_micro_batch_size_per_gpu, dataSeed(c.seed), c.data, pack);
    const runDir = prepareRunDir(c, checkpoint);
    runLog.open(runDir, checkpoint !== null);
    logRunHeader(log, c, d, model.params.numel, runDir, checkpoint);
    const peak = opts.skipPeakMeasurement ? null : measurePeak(kernels, threads, log);
    const trainer = new Trainer({
      config: c, model, kernels, data: sampler, val, dataTokens: split.train.end, runDir,
      flopsPerToken: flopsPerToken(mc, model.params.numel, c.data.seq_len), peakFlops: peak, log,
      activationEstimate: estimateActivationBytes(mc, c.train_micro_batch_size_per_gpu * c.data.seq_len, memoryOptionsOf(c)),
      ...(checkpoint ? { resume: checkpoint } : {}),
    });
    const result = trainer.run();
    return { runDir, result };
  } finally {
    source.close();
  }
}
