// Llama-style decoder (RMSNorm, RoPE, SwiGLU, grouped-query attention) with explicit forward and
// backward. Parameter names are Hugging Face LlamaForCausalLM's with the "model." prefix dropped
// ("embed_tokens.weight", "layers.{i}...", "norm.weight"); "lm_head.weight" exists only when the
// embeddings are not tied. Every matrix is in nn.Linear layout [out, in].
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
  allocLlamaBlockActs, allocLlamaBlockScratch, declareLlamaBlock, llama_block_backward, llama_block_forward, llamaBlockFloats,
  llamaBlockNames, llamaBlockWeights, type LlamaBlockActs, type LlamaBlockDims, type LlamaBlockScratch,
} from './llama-block.js';

interface LlamaActs extends LmActs {
  x0: Float32Array; // [N, C] token embeddings
  blocks: LlamaBlockActs[]; // [L]
  lnf: Float32Array; // [N, C]
  lnfRstd: Float32Array; // [N]
  losses: Float32Array; // [N]
  dlnf: Float32Array; // [N, C]
  dres: Float32Array; // [N, C] gradient of the residual stream
  scratch: LlamaBlockScratch;
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
export function llamaActivationBytes(config: ModelConfig, N: number): number {
  const { d_model: C, d_ff: F, vocab_size: V, n_layers: L, n_heads: H, n_kv_heads: Hkv } = config;
  const blk = llamaBlockFloats(N, C, Hkv * (C / H), F);
  const model = 4 * N * C + 2 * N + 2 * N * V; // x0, lnf, dlnf, dres; lnfRstd, losses; logits, dlogits
  return 4 * (L * blk.acts + blk.scratch + model) + 4 * 4 * N; // + the batch copy: four Int32 [N]
}

export class Llama extends TransformerLM<LlamaActs> {
  /** Name of the [V, C] output projection: the embedding itself when tied. */
  private readonly headName: string;

  constructor(
    config: ModelConfig,
    k: Kernels,
    core: AttentionCore,
    seed: number,
    storeOptions: ParameterStoreOptions = {},
    mask: ModelAttentionMask = new ModelAttentionMask(),
  ) {
    super('Llama', config, k, core, mask, storeOptions, (p) => declareLlamaParameters(p, config));
    this.headName = config.tie_embeddings ? 'embed_tokens.weight' : 'lm_head.weight';
    initParameters(this.params, seed, config.n_layers, llamaInitKind);
  }

  paramUnits(): string[][] {
    return llamaParamUnits(this.config);
  }

  private ensureActs(N: number): LlamaActs {
    if (this.acts && this.acts.N === N) return this.acts;
    const { d_model: C, d_ff: F, vocab_size: V, n_layers: L, n_heads: H, n_kv_heads: Hkv } = this.config;
    const KV = Hkv * (C / H);
    const blocks: LlamaBlockActs[] = [];
    for (let i = 0; i < L; i++) blocks.push(allocLlamaBlockActs(N, C, KV, F));
    this.acts = {
      N, x0: new Float32Array(N * C), blocks,
      lnf: new Float32Array(N * C), lnfRstd: new Float32Array(N),
      logits: new Float32Array(N * V), losses: new Float32Array(N),
      // Allocated on first backward, so sampling never pays for it.
      dlogits: new Float32Array(0),
      dlnf: new Float32Array(N * C), dres: new Float32Array(N * C),
      scratch: allocLlamaBlockScratch(N, C, KV, F),
    };
    return this.acts;
  }

  private dims(): LlamaBlockDims {
    const { d_model: C, n_heads: H, n_kv_heads: Hkv, d_ff: F, norm_eps: eps, rope_theta: theta } = this.config;
    return { shape: { B: this.batch.B, T: this.batch.T, H, Hkv, D: C / H }, C, F, eps, theta };
  }

  forward(batch: TokenBatch): ForwardResult {
    this.forwardDone = false;
    const bc = this.batch;
    bc.load(this.config, batch);
    const { d_model: C, vocab_size: V } = this.config;
    const N = bc.B * bc.T;
    const a = this.ensureActs(N);
    const dims = this.dims();
    const mask: AttentionMaskSpec = this.mask.spec(bc.T, bc.docIds);
    const L = a.blocks.length;
    const pv = this.provider;
    const emb = pv.acquire(0, 'forward', L > 0 ? 1 : 0);
    embedding_forward(a.x0, bc.tokens, emb.value('embed_tokens.weight'), N, C, false);
    pv.release(0, 'forward');
    let x = a.x0; // [N, C]
    for (let i = 0; i < L; i++) {
      const blk = a.blocks[i] as LlamaBlockActs;
      const views = pv.acquire(i + 1, 'forward', i + 1 < L ? i + 2 : 0);
      llama_block_forward(this.k, this.core, llamaBlockWeights(views, i, false), blk, x, bc.positions, dims, mask);
      pv.release(i + 1, 'forward');
      x = blk.resOut;
    }
    const head = pv.acquire(0, 'forward', null);
    this.k.rmsnorm_forward(a.lnf, a.lnfRstd, x, head.value('norm.weight'), N, C, this.config.norm_eps);
    const lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, head.value(this.headName),
      bc.hasTargets ? bc.targets : null, N, C, V);
    pv.release(0, 'forward');
    this.forwardDone = true;
    return { lossSum, count: bc.count };
  }

  backward(lossScale: number): void {
    const a = this.actsForBackward();
    const bc = this.batch;
    const { d_model: C, vocab_size: V } = this.config;
    const N = a.N;
    const dims = this.dims();
    const L = a.blocks.length;
    const pv = this.provider;
    const last = L > 0 ? (a.blocks[L - 1] as LlamaBlockActs).resOut : a.x0;
    const head = pv.acquire(0, 'backward', L > 0 ? L : 0);
    a.dlnf.fill(0);
    lm_head_backward(this.k, a.dlnf, head.grad(this.headName), a.dlogits, a.logits, a.lnf, head.value(this.headName),
      bc.targets, lossScale, N, C, V);
    a.dres.fill(0);
    this.k.rmsnorm_backward(a.dres, head.grad('norm.weight'), a.dlnf, last, head.value('norm.weight'), a.lnfRstd, N, C);
    pv.release(0, 'backward');
    for (let i = L - 1; i >= 0; i--) {
      const inp = i > 0 ? (a.blocks[i - 1] as LlamaBlockActs).resOut : a.x0;
      const views = pv.acquire(i + 1, 'backward', i > 0 ? i : 0);
      llama_block_backward(this.k, this.core, llamaBlockWeights(views, i, false), llamaBlockWeights(views, i, true),
        a.blocks[i] as LlamaBlockActs, a.scratch, a.dres, inp, bc.positions, dims);
      pv.release(i + 1, 'backward');
    }
    const emb = pv.acquire(0, 'backward', null);
    embedding_backward(emb.grad('embed_tokens.weight'), a.dres, bc.tokens, N, C);
    pv.release(0, 'backward');
  }
}
