// GPT-2 (pre-LN transformer, learned positions, GELU MLP, tied embeddings) with explicit
// forward and backward. Parameter names and layouts are Hugging Face GPT2LMHeadModel's minus the
// "transformer." prefix (Conv1D weights are [in, out]); the lm_head is wte itself.
// The memory options decide what forward keeps for backward: the blocks run through layer-stack.ts
// (checkpointing, bf16 storage), the MLP may be tiled, and the head may run as tiled-head.ts.
//
// Shape legend: B = batch, T = tokens this rank holds, N = B*T, C = d_model, V = vocabulary,
// H = heads, D = C/H, F = d_ff, P = max_seq_len, L = layers.
import type { AttentionCore } from '../attention/attention-core.js';
import type { AttentionMaskSpec, Kernels } from '../kernels/kernels.js';
import type { ForwardResult, TokenBatch } from './causal-lm.js';
import { ModelAttentionMask } from './attention-mask.js';
import type { ModelConfig } from './model-config.js';
import type { ParameterStore, ParameterStoreOptions } from './parameters.js';
import { embedding_backward, embedding_forward } from './embedding.js';
import { initParameters, type InitKind } from './init.js';
import { lm_head_backward, lm_head_forward } from './lm-head.js';
import { TransformerLM, type LmActs } from './transformer-lm.js';
import {
  allocGptBlockActs, allocGptBlockScratch, declareGptBlock, gpt_block_backward, gpt_block_forward, gpt_block_recompute,
  gptBlockFloats, gptBlockNames, gptBlockSavedArrays, gptBlockWeights, type GptBlockActs, type GptBlockDims, type GptBlockScratch,
} from './gpt-block.js';
import {
  allocLayerStack, layer_stack_backward, layer_stack_forward, layerStackBytes, stackInput, stackOutput,
  type BlockKind, type LayerStackActs,
} from './layer-stack.js';
import { PLAIN_MEMORY, tileRows, type MemoryOptions } from './memory-options.js';
import { allocTiledHead, tiled_head_backward, tiled_head_forward, tiledHeadBytes, type FinalNorm, type TiledHeadActs } from './tiled-head.js';

interface GptActs extends LmActs {
  stack: LayerStackActs<GptBlockActs>;
  scratch: GptBlockScratch;
  dres: Float32Array; // [N, C] gradient of the residual stream
  // The whole head (logits not tiled); [0] when tiled.
  lnf: Float32Array; // [N, C]
  lnfMean: Float32Array; // [N]
  lnfRstd: Float32Array; // [N]
  losses: Float32Array; // [N]
  dlnf: Float32Array; // [N, C]
  /** The tiled head with its fused backward, when logits are tiled. */
  head: TiledHeadActs | null;
}

function gptInitKind(name: string): InitKind {
  if (name.endsWith('.bias')) return 'zeros';
  if (name.includes('ln_')) return 'ones';
  if (name.endsWith('c_proj.weight')) return 'residual';
  return 'normal';
}

/** Declares every GPT parameter in flat-buffer order: embeddings, blocks, final norm. */
export function declareGptParameters(params: ParameterStore, config: ModelConfig): void {
  const { vocab_size: V, max_seq_len: P, d_model: C, d_ff: F, n_layers: L } = config;
  params.declare('wte.weight', [V, C], true);
  params.declare('wpe.weight', [P, C], false);
  for (let i = 0; i < L; i++) declareGptBlock(params, i, C, F);
  params.declare('ln_f.weight', [C], false);
  params.declare('ln_f.bias', [C], false);
}

/** Parameter names per provider unit: embeddings with final norm, then one unit per block. */
export function gptParamUnits(config: ModelConfig): string[][] {
  const units = [['wte.weight', 'wpe.weight', 'ln_f.weight', 'ln_f.bias']];
  for (let i = 0; i < config.n_layers; i++) units.push(gptBlockNames(i));
  return units;
}

/** Bytes GPT allocates for activations and scratch when a forward and backward see N = B*T tokens. */
export function gptActivationBytes(config: ModelConfig, N: number, m: MemoryOptions = PLAIN_MEMORY): number {
  const { d_model: C, d_ff: F, vocab_size: V, n_layers: L } = config;
  const R = tileRows(m.mlpTile, N, F);
  const blk = gptBlockFloats(N, C, F, R);
  const savedBig = 7 * N * C + (R > 0 ? 0 : 2 * N * F);
  const stack = layerStackBytes(L, N, C, { checkpoint: m.checkpoint, bf16: m.bf16Activations }, 4 * blk.acts,
    { big: savedBig, small: 4 * N });
  const Rv = tileRows(m.logitsTile, N, V);
  // lnf, dlnf [N, C]; lnfMean, lnfRstd, losses [N]; logits, dlogits [N, V] -- or the tiled head.
  const head = Rv > 0 ? tiledHeadBytes(N, C, V, Rv, true) : 4 * (2 * N * C + 3 * N + 2 * N * V);
  return stack + 4 * blk.scratch + 4 * N * C + head + 4 * 4 * N; // + dres; + the batch copy: four Int32 [N]
}

export class GPT extends TransformerLM<GptActs> {
  private readonly memory: MemoryOptions;
  private lastMask: AttentionMaskSpec | null = null;

  constructor(
    config: ModelConfig,
    k: Kernels,
    core: AttentionCore,
    seed: number,
    storeOptions: ParameterStoreOptions = {},
    mask: ModelAttentionMask = new ModelAttentionMask(),
    memory: MemoryOptions = PLAIN_MEMORY,
  ) {
    super('GPT', config, k, core, mask, storeOptions, (p) => declareGptParameters(p, config));
    this.memory = memory;
    initParameters(this.params, seed, config.n_layers, gptInitKind);
  }

  paramUnits(): string[][] {
    return gptParamUnits(this.config);
  }

  private ensureActs(N: number): GptActs {
    if (this.acts && this.acts.N === N) return this.acts;
    const { d_model: C, d_ff: F, vocab_size: V, n_layers: L } = this.config;
    const m = this.memory;
    const R = tileRows(m.mlpTile, N, F);
    const Rv = tileRows(m.logitsTile, N, V);
    const whole = Rv === 0 ? N : 0;
    const kind = { allocActs: () => allocGptBlockActs(N, C, F, R), savedArrays: gptBlockSavedArrays };
    this.acts = {
      N, stack: allocLayerStack(kind, L, N, C, { checkpoint: m.checkpoint, bf16: m.bf16Activations }),
      scratch: allocGptBlockScratch(N, C, F, R), dres: new Float32Array(N * C),
      lnf: new Float32Array(whole * C), lnfMean: new Float32Array(whole), lnfRstd: new Float32Array(whole),
      losses: new Float32Array(whole), dlnf: new Float32Array(whole * C),
      // Whole logits are allocated here, tiled ones on a forward without targets; dlogits on first backward.
      logits: new Float32Array(whole * V), dlogits: new Float32Array(0),
      head: Rv > 0 ? allocTiledHead(N, C, V, Rv, true) : null, fusedHead: Rv > 0,
    };
    return this.acts;
  }

  private dims(): GptBlockDims {
    const { d_model: C, n_heads: H, d_ff: F, norm_eps: eps } = this.config;
    const R = tileRows(this.memory.mlpTile, this.batch.B * this.batch.T, F);
    return { shape: { B: this.batch.B, T: this.batch.T, H, Hkv: H, D: C / H }, C, F, eps, R };
  }

  /** The blocks as the layer stack drives them, for N tokens under this forward's mask. */
  private blockKind(N: number, mask: AttentionMaskSpec): BlockKind<GptBlockActs> {
    const { d_model: C, d_ff: F } = this.config;
    const R = tileRows(this.memory.mlpTile, N, F);
    const k = this.k;
    const core = this.core;
    const scratch = (): GptBlockScratch => (this.acts as GptActs).scratch;
    return {
      allocActs: () => allocGptBlockActs(N, C, F, R),
      savedArrays: gptBlockSavedArrays,
      forward: (i, w, a, inp) => gpt_block_forward(k, core, gptBlockWeights(w, i, false), a, inp, this.dims(), mask, scratch()),
      recompute: (i, w, a, inp) => gpt_block_recompute(k, core, gptBlockWeights(w, i, false), a, inp, this.dims(), mask),
      backward: (i, w, a, dres, inp) => gpt_block_backward(k, core, gptBlockWeights(w, i, false), gptBlockWeights(w, i, true),
        a, scratch(), dres, inp, this.dims()),
    };
  }

  private finalNorm(w: Float32Array, b: Float32Array): FinalNorm {
    const { d_model: C, norm_eps: eps } = this.config;
    return {
      forward: (out, mean, rstd, inp, n) => this.k.layernorm_forward(out, mean, rstd, inp, w, b, n, C, eps),
      backward: (dinp, dw, db, dout, inp, mean, rstd, n) => this.k.layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, n, C),
    };
  }

  forward(batch: TokenBatch): ForwardResult {
    this.forwardDone = false;
    const bc = this.batch;
    bc.load(this.config, batch);
    const { d_model: C, vocab_size: V } = this.config;
    const N = bc.B * bc.T;
    const a = this.ensureActs(N);
    const mask: AttentionMaskSpec = this.mask.spec(bc.T, bc.docIds);
    this.lastMask = mask;
    const pv = this.provider;
    const emb = pv.acquire(0, 'forward', this.config.n_layers > 0 ? 1 : 0);
    const x0 = stackInput(a.stack); // [N, C]
    embedding_forward(x0, bc.tokens, emb.value('wte.weight'), N, C, false);
    embedding_forward(x0, bc.positions, emb.value('wpe.weight'), N, C, true);
    pv.release(0, 'forward');
    layer_stack_forward(this.blockKind(N, mask), a.stack, pv);
    const x = stackOutput(a.stack); // [N, C]
    const head = pv.acquire(0, 'forward', null);
    const targets = bc.hasTargets ? bc.targets : null;
    let lossSum: number;
    if (a.head) {
      // Whole logits exist only for a forward without targets (sampling); training drops them.
      if (!targets && a.logits.length !== N * V) a.logits = new Float32Array(N * V);
      if (targets) a.logits = new Float32Array(0);
      const norm = this.finalNorm(head.value('ln_f.weight'), head.value('ln_f.bias'));
      lossSum = tiled_head_forward(this.k, norm, a.head, x, head.value('wte.weight'), targets, targets ? null : a.logits,
        N, C, V, tileRows(this.memory.logitsTile, N, V));
    } else {
      this.k.layernorm_forward(a.lnf, a.lnfMean, a.lnfRstd, x, head.value('ln_f.weight'),
        head.value('ln_f.bias'), N, C, this.config.norm_eps);
      lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, head.value('wte.weight'), targets, N, C, V);
    }
    pv.release(0, 'forward');
    this.forwardDone = true;
    return { lossSum, count: bc.count };
  }

  backward(lossScale: number): void {
    const a = this.actsForBackward();
    const bc = this.batch;
    const { d_model: C, vocab_size: V } = this.config;
    const N = a.N;
    const L = this.config.n_layers;
    const pv = this.provider;
    const head = pv.acquire(0, 'backward', L > 0 ? L : 0);
    if (a.head) {
      tiled_head_backward(a.head, lossScale, a.dres, head.grad('wte.weight'), head.grad('ln_f.weight'), head.grad('ln_f.bias'));
    } else {
      a.dlnf.fill(0);
      lm_head_backward(this.k, a.dlnf, head.grad('wte.weight'), a.dlogits, a.logits, a.lnf, head.value('wte.weight'),
        bc.targets, lossScale, N, C, V);
      a.dres.fill(0);
      this.k.layernorm_backward(a.dres, head.grad('ln_f.weight'), head.grad('ln_f.bias'), a.dlnf, stackOutput(a.stack),
        head.value('ln_f.weight'), a.lnfMean, a.lnfRstd, N, C);
    }
    pv.release(0, 'backward');
    layer_stack_backward(this.blockKind(N, this.lastMask as AttentionMaskSpec), a.stack, pv, a.dres);
    const emb = pv.acquire(0, 'backward', null);
    embedding_backward(emb.grad('wte.weight'), a.dres, bc.tokens, N, C);
    embedding_backward(emb.grad('wpe.weight'), a.dres, bc.positions, N, C);
    pv.release(0, 'backward');
  }
}
