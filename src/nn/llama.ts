// Llama-style decoder (RMSNorm, RoPE, SwiGLU, grouped-query attention) with explicit forward and
// backward. Parameter names are Hugging Face LlamaForCausalLM's with the "model." prefix dropped
// ("embed_tokens.weight", "layers.{i}...", "norm.weight"); "lm_head.weight" exists only when the
// embeddings are not tied. Every matrix is in nn.Linear layout [out, in].
// The memory options decide what forward keeps for backward: the blocks run through layer-stack.ts
// (checkpointing, bf16 storage), the MLP may be tiled, and the head may run as tiled-head.ts.
//
// Shape legend: B = batch, T = tokens this rank holds, N = B*T, C = d_model, V = vocabulary,
// H = query heads, Hkv = key/value heads, D = C/H, KV = Hkv*D, F = d_ff, L = layers.
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
  allocLlamaBlockActs, allocLlamaBlockScratch, declareLlamaBlock, llama_block_backward, llama_block_forward, llama_block_recompute,
  llamaBlockFloats, llamaBlockNames, llamaBlockSavedArrays, llamaBlockWeights, type LlamaBlockActs, type LlamaBlockDims,
  type LlamaBlockScratch,
} from './llama-block.js';
import {
  allocLayerStack, layer_stack_backward, layer_stack_forward, layerStackBytes, stackInput, stackOutput,
  type BlockKind, type LayerStackActs,
} from './layer-stack.js';
import { PLAIN_MEMORY, tileRows, type MemoryOptions } from './memory-options.js';
import { allocTiledHead, tiled_head_backward, tiled_head_forward, tiledHeadBytes, type FinalNorm, type TiledHeadActs } from './tiled-head.js';

interface LlamaActs extends LmActs {
  stack: LayerStackActs<LlamaBlockActs>;
  scratch: LlamaBlockScratch;
  dres: Float32Array; // [N, C] gradient of the residual stream
  // The whole head (logits not tiled); [0] when tiled.
  lnf: Float32Array; // [N, C]
  lnfRstd: Float32Array; // [N]
  losses: Float32Array; // [N]
  dlnf: Float32Array; // [N, C]
  /** The tiled head with its fused backward, when logits are tiled. */
  head: TiledHeadActs | null;
}

function llamaInitKind(name: string): InitKind {
  if (name.endsWith('norm.weight')) return 'ones';
  if (name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight')) return 'residual';
  return 'normal';
}

/** Declares every Llama parameter in flat-buffer order: embeddings, layers, final norm, untied head. */
export function declareLlamaParameters(params: ParameterStore, config: ModelConfig): void {
  const { vocab_size: V, d_model: C, d_ff: F, n_layers: L, n_heads: H, n_kv_heads: Hkv } = config;
  const KV = Hkv * (C / H);
  params.declare('embed_tokens.weight', [V, C], true);
  for (let i = 0; i < L; i++) declareLlamaBlock(params, i, C, KV, F);
  params.declare('norm.weight', [C], false);
  if (!config.tie_embeddings) params.declare('lm_head.weight', [V, C], true);
}

/** Parameter names per provider unit: embeddings with final norm and head, then one unit per layer. */
export function llamaParamUnits(config: ModelConfig): string[][] {
  const units = [['embed_tokens.weight', 'norm.weight', ...(config.tie_embeddings ? [] : ['lm_head.weight'])]];
  for (let i = 0; i < config.n_layers; i++) units.push(llamaBlockNames(i));
  return units;
}

/** Bytes Llama allocates for activations and scratch when a forward and backward see N = B*T tokens. */
export function llamaActivationBytes(config: ModelConfig, N: number, m: MemoryOptions = PLAIN_MEMORY): number {
  const { d_model: C, d_ff: F, vocab_size: V, n_layers: L, n_heads: H, n_kv_heads: Hkv } = config;
  const KV = Hkv * (C / H);
  const R = tileRows(m.mlpTile, N, F);
  const blk = llamaBlockFloats(N, C, KV, F, R);
  const savedBig = 5 * N * C + 2 * N * KV + (R > 0 ? 0 : 3 * N * F);
  const stack = layerStackBytes(L, N, C, { checkpoint: m.checkpoint, bf16: m.bf16Activations }, 4 * blk.acts,
    { big: savedBig, small: 2 * N });
  const Rv = tileRows(m.logitsTile, N, V);
  // lnf, dlnf [N, C]; lnfRstd, losses [N]; logits, dlogits [N, V] -- or the tiled head.
  const head = Rv > 0 ? tiledHeadBytes(N, C, V, Rv, false) : 4 * (2 * N * C + 2 * N + 2 * N * V);
  return stack + 4 * blk.scratch + 4 * N * C + head + 4 * 4 * N; // + dres; + the batch copy: four Int32 [N]
}

export class Llama extends TransformerLM<LlamaActs> {
  /** Name of the [V, C] output projection: the embedding itself when tied. */
  private readonly headName: string;
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
    super('Llama', config, k, core, mask, storeOptions, (p) => declareLlamaParameters(p, config));
    this.headName = config.tie_embeddings ? 'embed_tokens.weight' : 'lm_head.weight';
    this.memory = memory;
    initParameters(this.params, seed, config.n_layers, llamaInitKind);
  }

  paramUnits(): string[][] {
    return llamaParamUnits(this.config);
  }

  private ensureActs(N: number): LlamaActs {
    if (this.acts && this.acts.N === N) return this.acts;
    const { d_model: C, d_ff: F, vocab_size: V, n_layers: L, n_heads: H, n_kv_heads: Hkv } = this.config;
    const KV = Hkv * (C / H);
    const m = this.memory;
    const R = tileRows(m.mlpTile, N, F);
    const Rv = tileRows(m.logitsTile, N, V);
    const whole = Rv === 0 ? N : 0;
    const kind = { allocActs: () => allocLlamaBlockActs(N, C, KV, F, R), savedArrays: llamaBlockSavedArrays };
    this.acts = {
      N, stack: allocLayerStack(kind, L, N, C, { checkpoint: m.checkpoint, bf16: m.bf16Activations }),
      scratch: allocLlamaBlockScratch(N, C, KV, F, R), dres: new Float32Array(N * C),
      lnf: new Float32Array(whole * C), lnfRstd: new Float32Array(whole),
      losses: new Float32Array(whole), dlnf: new Float32Array(whole * C),
      // Whole logits are allocated here, tiled ones on a forward without targets; dlogits on first backward.
      logits: new Float32Array(whole * V), dlogits: new Float32Array(0),
      head: Rv > 0 ? allocTiledHead(N, C, V, Rv, false) : null, fusedHead: Rv > 0,
    };
    return this.acts;
  }

  private dims(): LlamaBlockDims {
    const { d_model: C, n_heads: H, n_kv_heads: Hkv, d_ff: F, norm_eps: eps, rope_theta: theta } = this.config;
    const R = tileRows(this.memory.mlpTile, this.batch.B * this.batch.T, F);
    return { shape: { B: this.batch.B, T: this.batch.T, H, Hkv, D: C / H }, C, F, eps, theta, R };
  }

  /** The layers as the layer stack drives them, under this forward's mask. */
  private blockKind(N: number, mask: AttentionMaskSpec): BlockKind<LlamaBlockActs> {
    const { d_model: C, d_ff: F, n_heads: H, n_kv_heads: Hkv } = this.config;
    const R = tileRows(this.memory.mlpTile, N, F);
    const k = this.k;
    const core = this.core;
    const pos = this.batch.positions;
    const scratch = (): LlamaBlockScratch => (this.acts as LlamaActs).scratch;
    return {
      allocActs: () => allocLlamaBlockActs(N, C, Hkv * (C / H), F, R),
      savedArrays: llamaBlockSavedArrays,
      forward: (i, w, a, inp) => llama_block_forward(k, core, llamaBlockWeights(w, i, false), a, inp, pos, this.dims(), mask,
        scratch()),
      recompute: (i, w, a, inp) => llama_block_recompute(k, core, llamaBlockWeights(w, i, false), a, inp, pos, this.dims(), mask),
      backward: (i, w, a, dres, inp) => llama_block_backward(k, core, llamaBlockWeights(w, i, false),
        llamaBlockWeights(w, i, true), a, scratch(), dres, inp, pos, this.dims()),
    };
  }

  private finalNorm(w: Float32Array): FinalNorm {
    const { d_model: C, norm_eps: eps } = this.config;
    return {
      forward: (out, _mean, rstd, inp, n) => this.k.rmsnorm_forward(out, rstd, inp, w, n, C, eps),
      backward: (dinp, dw, _db, dout, inp, _mean, rstd, n) => this.k.rmsnorm_backward(dinp, dw, dout, inp, w, rstd, n, C),
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
    embedding_forward(stackInput(a.stack), bc.tokens, emb.value('embed_tokens.weight'), N, C, false);
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
      lossSum = tiled_head_forward(this.k, this.finalNorm(head.value('norm.weight')), a.head, x, head.value(this.headName),
        targets, targets ? null : a.logits, N, C, V, tileRows(this.memory.logitsTile, N, V));
    } else {
      this.k.rmsnorm_forward(a.lnf, a.lnfRstd, x, head.value('norm.weight'), N, C, this.config.norm_eps);
      lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, head.value(this.headName), targets, N, C, V);
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
      tiled_head_backward(a.head, lossScale, a.dres, head.grad(this.headName), head.grad('norm.weight'), null);
    } else {
      a.dlnf.fill(0);
      lm_head_backward(this.k, a.dlnf, head.grad(this.headName), a.dlogits, a.logits, a.lnf, head.value(this.headName),
        bc.targets, lossScale, N, C, V);
      a.dres.fill(0);
      this.k.rmsnorm_backward(a.dres, head.grad('norm.weight'), a.dlnf, stackOutput(a.stack), head.value('norm.weight'),
        a.lnfRstd, N, C);
    }
    pv.release(0, 'backward');
    layer_stack_backward(this.blockKind(N, this.lastMask as AttentionMaskSpec), a.stack, pv, a.dres);
    const emb = pv.acquire(0, 'backward', null);
    embedding_backward(emb.grad('embed_tokens.weight'), a.dres, bc.tokens, N, C);
    pv.release(0, 'backward');
  }
}
