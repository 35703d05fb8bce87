// Which part of every GPT or Llama parameter a tensor-parallel rank holds, and the moves between a
// rank's own flat vector and the whole model's (checkpoints, init, tests). A sharded parameter is
// viewed as [R, K, W] (R rows, K column blocks of W columns) and rank r holds columns
// [r·W/P, (r+1)·W/P) of every block. GPT's Conv1D weights are [in, out]: the fused c_attn [C, 3C]
// is R = C, K = 3, W = C (q, k, v each split by heads), c_fc [C, F] is R = C, K = 1, W = F, and a
// row-parallel c_proj [IN, C] is one contiguous run R = K = 1, W = IN·C. Llama's nn.Linear weights
// are [out, in], so there the column-parallel q/k/v/gate/up are contiguous runs of output rows and
// the row-parallel o_proj [C, C] and down_proj [C, F] are column slices (R = C). Replicated
// parameters (norms, embeddings, lm_head, row-parallel biases) are whole.
//
// A rank's store declares replicated parameters first and sharded ones after, under the Hugging
// Face names, so the gradient sync is one reduction for each of the two runs.
//
// Shape legend: C = d_model, F = d_ff, KV = kv width, L = layers, P = tp degree.
import { declareGptParameters } from '../../nn/gpt.js';
import { declareLlamaParameters } from '../../nn/llama.js';
import type { ModelConfig } from '../../nn/model-config.js';
import { ParameterStore, type ParameterInfo } from '../../nn/parameters.js';

/** A sharded parameter viewed as [R, K, W]; each rank holds a W/P-wide column slice of every block. */
export interface TpSplit {
  R: number;
  K: number;
  W: number;
}

/** The split of each sharded GPT parameter of block i (the others are replicated). */
function gptBlockSplits(i: number, C: number, F: number): [string, TpSplit][] {
  return [
    [`h.${i}.attn.c_attn.weight`, { R: C, K: 3, W: C }],
    [`h.${i}.attn.c_attn.bias`, { R: 1, K: 3, W: C }],
    [`h.${i}.attn.c_proj.weight`, { R: 1, K: 1, W: C * C }],
    [`h.${i}.mlp.c_fc.weight`, { R: C, K: 1, W: F }],
    [`h.${i}.mlp.c_fc.bias`, { R: 1, K: 1, W: F }],
    [`h.${i}.mlp.c_proj.weight`, { R: 1, K: 1, W: F * C }],
  ];
}

/** The split of each sharded Llama parameter of layer i (KV = Hkv·D). */
function llamaBlockSplits(i: number, C: number, KV: number, F: number): [string, TpSplit][] {
  return [
    [`layers.${i}.self_attn.q_proj.weight`, { R: 1, K: 1, W: C * C }],
    [`layers.${i}.self_attn.k_proj.weight`, { R: 1, K: 1, W: KV * C }],
    [`layers.${i}.self_attn.v_proj.weight`, { R: 1, K: 1, W: KV * C }],
    [`layers.${i}.self_attn.o_proj.weight`, { R: C, K: 1, W: C }],
    [`layers.${i}.mlp.gate_proj.weight`, { R: 1, K: 1, W: F * C }],
    [`layers.${i}.mlp.up_proj.weight`, { R: 1, K: 1, W: F * C }],
    [`layers.${i}.mlp.down_proj.weight`, { R: C, K: 1, W: F }],
  ];
}

/** The shape rank-local storage gives a parameter of full shape `shape` split as s: a contiguous run divides the first axis, column slices the last. */
function localShape(shape: readonly number[], P: number, s: TpSplit): number[] {
  const out = [...shape];
  const axis = s.R === 1 && s.K === 1 ? 0 : out.length - 1;
  out[axis] = (out[axis] as number) / P;
  return out;
}

export class TpLayout {
  /** The whole model's parameters, in the one-worker model's flat order (what checkpoints hold). */
  readonly fullInfos: readonly ParameterInfo[];
  readonly fullNumel: number;
  /** Elements [0, replicatedNumel) of a rank's vector are replicated, the rest sharded. */
  readonly replicatedNumel: number;
  private readonly splits = new Map<string, TpSplit>();

  constructor(readonly config: ModelConfig, readonly P: number) {
    const { d_model: C, d_ff: F, n_heads: H, n_kv_heads: Hkv, n_layers: L } = config;
    if (H % P !== 0 || Hkv % P !== 0 || F % P !== 0) {
      throw new RangeError(`Megatron-SP: the degree ${P} must divide n_heads (${H}), n_kv_heads (${Hkv}) and d_ff (${F})`);
    }
    const full = new ParameterStore(); // declared only, never finalized: names, shapes and offsets
    if (config.arch === 'gpt') declareGptParameters(full, config);
    else declareLlamaParameters(full, config);
    this.fullInfos = full.infos;
    this.fullNumel = full.numel;
    for (let i = 0; i < L; i++) {
      const splits = config.arch === 'gpt' ? gptBlockSplits(i, C, F) : llamaBlockSplits(i, C, Hkv * (C / H), F);
      for (const [name, s] of splits) this.splits.set(name, s);
    }
    this.replicatedNumel = this.fullInfos.reduce((n, i) => n + (this.splits.has(i.name) ? 0 : i.size), 0);
  }

  split(name: string): TpSplit | null {
    return this.splits.get(name) ?? null;
  }

  /** Declares a rank's parameters: replicated ones whole, then sharded ones as slices. */
  declareLocal(store: ParameterStore): void {
    // The replicated run must start the flat vector, where the gradient sync expects it.
    if (store.numel !== 0) throw new Error('TpLayout.declareLocal: the store must be empty');
    for (const i of this.fullInfos) if (!this.splits.has(i.name)) store.declare(i.name, [...i.shape], i.decay);
    for (const i of this.fullInfos) {
      const s = this.splits.get(i.name);
      if (s) store.declare(i.name, localShape(i.shape, this.P, s), i.decay);
    }
  }

  /** Copies rank r's part of full (the one-worker layout) into local (the layout of `localInfos`). */
  takeLocal(full: Float32Array, local: Float32Array, localInfos: readonly ParameterInfo[], r: number): void {
    this.move(full, local, localInfos, r, 'take');
  }

  /** Writes rank r's part local into full (the inverse of takeLocal). */
  putLocal(local: Float32Array, full: Float32Array, localInfos: readonly ParameterInfo[], r: number): void {
    this.move(full, local, localInfos, r, 'put');
  }

  private move(full: Float32Array, local: Float32Array, localInfos: readonly ParameterInfo[], r: number, dir: 'take' | 'put'): void {
    const byName = new Map(localInfos.map((i) => [i.name, i]));
    for (const fi of this.fullInfos) {
      const li = byName.get(fi.name);
      if (!li) throw new Error(`TpLayout: the local store has no parameter ${fi.name}`);
      const s = this.splits.get(fi.name) ?? { R: 1, K: 1, W: fi.size * this.P };
      const w = s.W / this.P;
      const whole = !this.splits.has(fi.name);
      for (let row = 0; row < s.R; row++) {
        for (let blk = 0; blk < s.K; blk++) {
          const f = fi.offset + (whole ? 0 : (row * s.K + blk) * s.W + r * w);
          const l = li.offset + (row * s.K + blk) * w;
          if (dir === 'take') local.set(full.subarray(f, f + w), l);
          else full.set(local.subarray(l, l + w), f);
        }
      }
    }
  }
}
