// Checkpoints: a folder a model opens from in Python `transformers` (model.safetensors with
// Hugging Face names, config.json) plus what resuming needs (AdamW moments, step, data position,
// the ulysses config), every file listed with its sha256 in manifest.json. A checkpoint is
// written to a temporary folder and renamed into place, so a crash never leaves half of one. The
// tensors are whole (consolidated from ZeRO shards before writing), so a checkpoint does not depend
// on the layout that saved it: any dp × sp and ZeRO stage resumes it by slicing its own part.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CausalLM } from '../nn/causal-lm.js';
import { hfConfig, toHfName } from '../nn/hf-export.js';
import type { ModelConfig } from '../nn/model-config.js';
import type { ParameterInfo, ParameterStore } from '../nn/parameters.js';
import type { FullModelState } from '../parallel/zero/engine.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../tensor/safetensors.js';
import type { UlyssesConfig } from './config.js';
import { CheckpointError } from './errors.js';

/** What a checkpoint needs of an optimizer over the whole flat vector (AdamW). */
export interface OptimizerMoments {
  readonly m: Float32Array;
  readonly v: Float32Array;
  step: number;
}

export const CHECKPOINT_FORMAT = 'ulysses-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** Everything besides tensors that a resumed run needs. */
export interface TrainingState {
  /** Optimizer steps completed. */
  step: number;
  /** The data sampler's generator state after the last completed step. */
  sampler_state: number;
  tokens_seen: number;
  /** Token count of the training corpus, to refuse resuming on different data. */
  data_tokens: number;
  /** The full run config, so `--resume` needs no other file. */
  config: UlyssesConfig;
}

interface Manifest {
  format: string;
  version: number;
  files: Record<string, { bytes: number; sha256: string }>;
}

export interface LoadedCheckpoint {
  dir: string;
  state: TrainingState;
  model: Map<string, NamedTensor>;
  optimizer: Map<string, NamedTensor>;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function tensorsOf(infos: readonly ParameterInfo[], flat: Float32Array, name: (n: string) => string): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const i of infos) out.set(name(i.name), { dtype: 'F32', shape: [...i.shape], data: flat.subarray(i.offset, i.offset + i.size) });
  return out;
}

/** Writes the checkpoint folder of a one-worker model and its AdamW atomically. */
export function saveCheckpoint(dir: string, model: CausalLM, opt: OptimizerMoments, state: TrainingState): void {
  const full = { params: model.params.data, exp_avg: opt.m, exp_avg_sq: opt.v };
  writeCheckpoint(dir, model.config, model.params.infos, full, opt.step, state);
}

/** Writes the checkpoint folder `dir` from whole flat vectors atomically (temporary folder, then rename). */
export function writeCheckpoint(
  dir: string, config: ModelConfig, infos: readonly ParameterInfo[], full: FullModelState, optimizerStep: number, state: TrainingState,
): void {
  const moments = new Map([
    ...tensorsOf(infos, full.exp_avg, (n) => `exp_avg.${n}`),
    ...tensorsOf(infos, full.exp_avg_sq, (n) => `exp_avg_sq.${n}`),
  ]);
  const files = new Map<string, Uint8Array>();
  files.set('model.safetensors', encodeSafetensors(tensorsOf(infos, full.params, (n) => toHfName(config, n)), { format: 'pt' }));
  files.set('config.json', Buffer.from(`${JSON.stringify(hfConfig(config), null, 2)}\n`));
  files.set('optimizer.safetensors', encodeSafetensors(moments, { optimizer_step: String(optimizerStep) }));
  files.set('trainer_state.json', Buffer.from(`${JSON.stringify(state, null, 2)}\n`));
  const manifest: Manifest = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, files: {} };
  for (const [name, data] of files) manifest.files[name] = { bytes: data.length, sha256: sha256(data) };

  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.tmp-${process.pid}`);
  const old = join(parent, `.${basename(dir)}.old-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  for (const [name, data] of files) writeFileSync(join(tmp, name), data);
  writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // A folder cannot be renamed over a non-empty one, so the previous checkpoint steps aside first.
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** Reads and verifies a checkpoint folder (or a run folder's checkpoint); refuses missing files, bad checksums and bad formats. */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw new CheckpointError(`checkpoint ${path} does not exist`);
  // A run folder stands for its checkpoint, so `--resume runs/<name>` works too.
  const dir = !existsSync(join(path, 'manifest.json')) && existsSync(join(path, 'checkpoint')) ? join(path, 'checkpoint') : path;
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new CheckpointError(`checkpoint ${dir} has no manifest.json: not a ulysses checkpoint, or its save was interrupted`);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch {
    throw new CheckpointError(`checkpoint ${dir}: manifest.json is not valid JSON`);
  }
  if (manifest.format !== CHECKPOINT_FORMAT || manifest.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `checkpoint ${dir} has format ${String(manifest.format)} version ${String(manifest.version)}; ` +
        `this ulysses reads ${CHECKPOINT_FORMAT} version ${CHECKPOINT_VERSION}`,
    );
  }
  const read = (name: string): Buffer => {
    const entry = manifest.files?.[name];
    if (!entry) throw new CheckpointError(`checkpoint ${dir}: manifest.json does not list ${name}`);
    const path = join(dir, name);
    if (!existsSync(path)) throw new CheckpointError(`checkpoint ${dir} is missing ${name}`);
    const data = readFileSync(path);
    if (data.length !== entry.bytes) {
      throw new CheckpointError(
        `checkpoint ${dir}: ${name} has ${data.length} bytes, manifest.json lists ${entry.bytes} (the file is truncated or was changed)`,
      );
    }
    if (sha256(data) !== entry.sha256) {
      throw new CheckpointError(`checkpoint ${dir}: ${name} does not match its sha256 in manifest.json (the file is corrupt or was changed)`);
    }
    return data;
  };
  const state = JSON.parse(read('trainer_state.json').toString('utf8')) as TrainingState;
  read('config.json');
  return {
    dir,
    state,
    model: decodeSafetensors(read('model.safetensors'), join(dir, 'model.safetensors')).tensors,
    optimizer: decodeSafetensors(read('optimizer.safetensors'), join(dir, 'optimizer.safetensors')).tensors,
  };
}

/** The tensor `name` of `file`, refused when missing or not F32 of `shape`. */
function checkedTensor(dir: string, file: string, tensors: Map<string, NamedTensor>, name: string, shape: readonly number[]): NamedTensor {
  const t = tensors.get(name);
  if (!t) throw new CheckpointError(`checkpoint ${dir}: ${file} has no tensor ${name}; it was saved from a different model`);
  if (t.dtype !== 'F32' || t.shape.join(',') !== shape.join(',')) {
    throw new CheckpointError(
      `checkpoint ${dir}: ${file} holds ${name} as ${t.dtype} [${t.shape.join(', ')}]; the model expects F32 [${shape.join(', ')}]`,
    );
  }
  return t;
}

function copyTensor(dir: string, file: string, tensors: Map<string, NamedTensor>, name: string, shape: number[], dst: Float32Array): void {
  dst.set(checkedTensor(dir, file, tensors, name, shape).data);
}

/** Refuses a checkpoint whose weights or moments do not match the model's names and shapes, before anything is written. */
export function checkCheckpointFits(ckpt: LoadedCheckpoint, config: ModelConfig, infos: readonly ParameterInfo[]): void {
  for (const i of infos) {
    checkedTensor(ckpt.dir, 'model.safetensors', ckpt.model, toHfName(config, i.name), i.shape);
    checkedTensor(ckpt.dir, 'optimizer.safetensors', ckpt.optimizer, `exp_avg.${i.name}`, i.shape);
    checkedTensor(ckpt.dir, 'optimizer.safetensors', ckpt.optimizer, `exp_avg_sq.${i.name}`, i.shape);
  }
}

/** Loads the weights into a model built with the same config (its flat buffers must exist). */
export function restoreModel(ckpt: LoadedCheckpoint, model: CausalLM): void {
  for (const i of model.params.infos) {
    copyTensor(ckpt.dir, 'model.safetensors', ckpt.model, toHfName(model.config, i.name), i.shape, model.params.value(i.name));
  }
}

/** Loads the AdamW moments and step count. */
export function restoreOptimizer(ckpt: LoadedCheckpoint, params: ParameterStore, opt: OptimizerMoments): void {
  const full = readFullState(ckpt, null, params.infos);
  opt.m.set(full.exp_avg);
  opt.v.set(full.exp_avg_sq);
  opt.step = ckpt.state.step;
}

/**
 * The checkpoint's whole parameters and moments in the flat layout of `infos`, checked tensor by
 * tensor against the model's shapes (config null: the moments alone, parameters left zero).
 */
export function readFullState(ckpt: LoadedCheckpoint, config: ModelConfig | null, infos: readonly ParameterInfo[]): FullModelState {
  const numel = infos.reduce((s, i) => s + i.size, 0);
  const full = { params: new Float32Array(numel), exp_avg: new Float32Array(numel), exp_avg_sq: new Float32Array(numel) };
  for (const i of infos) {
    const at = (a: Float32Array): Float32Array => a.subarray(i.offset, i.offset + i.size);
    if (config) copyTensor(ckpt.dir, 'model.safetensors', ckpt.model, toHfName(config, i.name), i.shape, at(full.params));
    copyTensor(ckpt.dir, 'optimizer.safetensors', ckpt.optimizer, `exp_avg.${i.name}`, i.shape, at(full.exp_avg));
    copyTensor(ckpt.dir, 'optimizer.safetensors', ckpt.optimizer, `exp_avg_sq.${i.name}`, i.shape, at(full.exp_avg_sq));
  }
  return full;
}
