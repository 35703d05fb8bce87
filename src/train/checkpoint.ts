// Checkpoints: a folder a model opens from in Python `transformers` (model.safetensors with
// Hugging Face names, config.json) plus what resuming needs (AdamW moments, step, data position,
// the ulysses config), every file listed with its sha256 in manifest.json. A checkpoint is
// written to a temporary folder and renamed into place, so a crash never leaves half of one.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CausalLM } from '../nn/causal-lm.js';
import { hfConfig, hfStateDict, toHfName } from '../nn/hf-export.js';
import type { ParameterStore } from '../nn/parameters.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../tensor/safetensors.js';
import type { UlyssesConfig } from './config.js';
import { CheckpointError } from './errors.js';
import type { AdamW } from './optimizer.js';

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

function momentTensors(params: ParameterStore, opt: AdamW): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const key of ['exp_avg', 'exp_avg_sq'] as const) {
    const buf = key === 'exp_avg' ? opt.m : opt.v;
    for (const i of params.infos) {
      out.set(`${key}.${i.name}`, { dtype: 'F32', shape: [...i.shape], data: buf.subarray(i.offset, i.offset + i.size) });
    }
  }
  return out;
}

/** Writes the checkpoint folder `dir` atomically (temporary folder, then rename). */
export function saveCheckpoint(dir: string, model: CausalLM, opt: AdamW, state: TrainingState): void {
  const files = new Map<string, Uint8Array>();
  files.set('model.safetensors', encodeSafetensors(hfStateDict(model.config, model.params), { format: 'pt' }));
  files.set('config.json', Buffer.from(`${JSON.stringify(hfConfig(model.config), null, 2)}\n`));
  files.set('optimizer.safetensors', encodeSafetensors(momentTensors(model.params, opt), { optimizer_step: String(opt.step) }));
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
    if (data.length !== entry.bytes || sha256(data) !== entry.sha256) {
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

/** Copies `name` from the checkpoint into dst, refusing a missing tensor or a shape mismatch. */
function copyTensor(dir: string, tensors: Map<string, NamedTensor>, name: string, shape: number[], dst: Float32Array): void {
  const t = tensors.get(name);
  if (!t) throw new CheckpointError(`checkpoint ${dir} has no tensor ${name}: it was saved from a different model`);
  if (t.dtype !== 'F32' || t.shape.join(',') !== shape.join(',')) {
    throw new CheckpointError(
      `checkpoint ${dir}: tensor ${name} is ${t.dtype} [${t.shape.join(', ')}], the model expects F32 [${shape.join(', ')}]`,
    );
  }
  dst.set(t.data);
}

/** Loads the weights into a model built with the same config. */
export function restoreModel(ckpt: LoadedCheckpoint, model: CausalLM): void {
  for (const i of model.params.infos) {
    copyTensor(ckpt.dir, ckpt.model, toHfName(model.config, i.name), i.shape, model.params.value(i.name));
  }
}

/** Loads the AdamW moments and step count. */
export function restoreOptimizer(ckpt: LoadedCheckpoint, params: ParameterStore, opt: AdamW): void {
  for (const i of params.infos) {
    copyTensor(ckpt.dir, ckpt.optimizer, `exp_avg.${i.name}`, i.shape, opt.m.subarray(i.offset, i.offset + i.size));
    copyTensor(ckpt.dir, ckpt.optimizer, `exp_avg_sq.${i.name}`, i.shape, opt.v.subarray(i.offset, i.offset + i.size));
  }
  opt.step = ckpt.state.step;
}
