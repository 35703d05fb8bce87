// Llama-style decoder (RMSNorm, RoPE, SwiGLU, grouped-query attention) with explicit forward and
// backward. Parameter names are Hugging Face LlamaForCausalLM's with the "model." prefix dropped
// ("embed_tokens.weight", "layers.{i}...", "norm.weight"); "lm_head.weight" exists only when the
// embeddings are not tied. Every matrix is in nn.Linear layout [out, in].
//
// Shape legend: B = batch, T = tokens this rank holds, N = B*T, C = d_model, V = vocabulary,
// H = query heads, Hkv = key/value heads, D = C/H, KV = Hkv*D, F = d_ff, L = layers.
import type { AttentionCore } from '../attention/attention-core.js';
import type { AttentionMaskSpec, Kernels } from '../kernels/kernels.js';
import type { CausalLM, ForwardResult, TokenBatch } from './causal-lm.js';
import type { ModelConfig } from './model-config.js';
import { ParameterStore } from './parameters.js';
import { BatchCopy } from './batch.js';
import { embedding_backward, embedding_forward } from './embedding.js';
import { initParameters, type InitKind } from './init.js';
import { lm_head_backward, lm_head_forward } from './lm-head.js';
import {
  allocLlamaBlockActs, allocLlamaBlockScratch, declareLlamaBlock, llama_block_backward, llama_block_forward,
  llamaBlockWeights, type LlamaBlockActs, type LlamaBlockDims, type LlamaBlockScratch, type LlamaBlockWeights,
} from './llama-block.js';

interface LlamaActs {
  N: number;
  x0: Float32Array; // [N, C] token embeddings
  blocks: LlamaBlockActs[]; // [L]
  lnf: Float32Array; // [N, C]
  lnfRstd: Float32Array; // [N]
  logits: Float32Array; // [N, V]
  losses: Float32Array; // [N]
  dlogits: Float32Array; // [N, V]
  dlnf: Float32Array; // [N, C]
  dres: Float32Array; // [N, C] gradient of the residual stream
  scratch: LlamaBlockScratch;
}

function llamaInitKind(name: string): InitKind {
  if (name.endsWith('norm.weight')) return 'ones';
  if (name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight')) return 'residual';
  return 'normal';
}

export class Llama implements CausalLM {
  readonly params = new ParameterStore();
  private readonly w: LlamaBlockWeights[]; // [L] parameter views
  private readonly g: LlamaBlockWeights[]; // [L] gradient views
  /** Name of the [V, C] output projection: the embedding itself when tied. */
  private readonly headName: string;
  private readonly batch = new BatchCopy();
  private acts: LlamaActs | null = null;
  private forwardDone = false;

  constructor(
    readonly config: ModelConfig,
    private readonly k: Kernels,
    private readonly core: AttentionCore,
    seed: number,
  ) {
    const { vocab_size: V, d_model: C, d_ff: F, n_layers: L, n_heads: H, n_kv_heads: Hkv } = config;
    const KV = Hkv * (C / H);
    this.params.declare('embed_tokens.weight', [V, C], true);
    for (let i = 0; i < L; i++) declareLlamaBlock(this.params, i, C, KV, F);
    this.params.declare('norm.weight', [C], false);
    if (!config.tie_embeddings) this.params.declare('lm_head.weight', [V, C], true);
    this.headName = config.tie_embeddings ? 'embed_tokens.weight' : 'lm_head.weight';
    this.params.finalize();
    initParameters(this.params, seed, L, llamaInitKind);
    this.w = [];
    this.g = [];
    for (let i = 0; i < L; i++) {
      this.w.push(llamaBlockWeights(this.params, i, false));
      this.g.push(llamaBlockWeights(this.params, i, true));
    }
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
    const mask: AttentionMaskSpec = { causal: true, docIds: bc.docIds };
    embedding_forward(a.x0, bc.tokens, this.params.value('embed_tokens.weight'), N, C, false);
    let x = a.x0; // [N, C]
    for (let i = 0; i < a.blocks.length; i++) {
      const blk = a.blocks[i] as LlamaBlockActs;
      llama_block_forward(this.k, this.core, this.w[i] as LlamaBlockWeights, blk, x, bc.positions, dims, mask);
      x = blk.resOut;
    }
    this.k.rmsnorm_forward(a.lnf, a.lnfRstd, x, this.params.value('norm.weight'), N, C, this.config.norm_eps);
    const lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, this.params.value(this.headName),
      bc.hasTargets ? bc.targets : null, N, C, V);
    this.forwardDone = true;
    return { lossSum, count: bc.count };
  }

  backward(lossScale: number): void {
    const a = this.acts;
    const bc = this.batch;
    if (!a || !this.forwardDone) throw new Error('Llama.backward: call forward first');
    if (!bc.hasTargets) throw new Error('Llama.backward: the last forward had no targets');
    const { d_model: C, vocab_size: V } = this.config;
    const N = a.N;
    const dims = this.dims();
    const p = this.params;
    if (a.dlogits.length !== N * V) a.dlogits = new Float32Array(N * V);
    const last = a.blocks.length > 0 ? (a.blocks[a.blocks.length - 1] as LlamaBlockActs).resOut : a.x0;
    a.dlnf.fill(0);
    lm_head_backward(this.k, a.dlnf, p.grad(this.headName), a.dlogits, a.logits, a.lnf, p.value(this.headName),
      bc.targets, lossScale, N, C, V);
    a.dres.fill(0);
    this.k.rmsnorm_backward(a.dres, p.grad('norm.weight'), a.dlnf, last, p.value('norm.weight'), a.lnfRstd, N, C);
    for (let i = a.blocks.length - 1; i >= 0; i--) {
      const inp = i > 0 ? (a.blocks[i - 1] as LlamaBlockActs).resOut : a.x0;
      llama_block_backward(this.k, this.core, this.w[i] as LlamaBlockWeights, this.g[i] as LlamaBlockWeights,
        a.blocks[i] as LlamaBlockActs, a.scratch, a.dres, inp, bc.positions, dims);
    }
    embedding_backward(p.grad('embed_tokens.weight'), a.dres, bc.tokens, N, C);
  }

  lastLogits(): Float32Array {
    if (!this.acts || !this.forwardDone) throw new Error('Llama.lastLogits: call forward first');
    return this.acts.logits;
  }
}
