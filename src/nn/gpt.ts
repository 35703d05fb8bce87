// GPT-2 (pre-LN transformer, learned positions, GELU MLP, tied embeddings) with explicit
// forward and backward. Parameter names and layouts are Hugging Face GPT2LMHeadModel's minus the
// "transformer." prefix (Conv1D weights are [in, out]); the lm_head is wte itself.
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
  allocGptBlockActs, allocGptBlockScratch, declareGptBlock, gpt_block_backward, gpt_block_forward, gptBlockFloats, gptBlockNames,
  gptBlockWeights, type GptBlockActs, type GptBlockDims, type GptBlockScratch,
} from './gpt-block.js';

interface GptActs extends LmActs {
  x0: Float32Array; // [N, C] token + position embeddings
  blocks: GptBlockActs[]; // [L]
  lnf: Float32Array; // [N, C]
  lnfMean: Float32Array; // [N]
  lnfRstd: Float32Array; // [N]
  losses: Float32Array; // [N]
  dlnf: Float32Array; // [N, C]
  dres: Float32Array; // [N, C] gradient of the residual stream
  scratch: GptBlockScratch;
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
export function gptActivationBytes(config: ModelConfig, N: number): number {
  const { d_model: C, d_ff: F, vocab_size: V, n_layers: L } = config;
  const blk = gptBlockFloats(N, C, F);
  const model = 4 * N * C + 3 * N + 2 * N * V; // x0, lnf, dlnf, dres; lnfMean, lnfRstd, losses; logits, dlogits
  return 4 * (L * blk.acts + blk.scratch + model) + 4 * 4 * N; // + the batch copy: four Int32 [N]
}

export class GPT extends TransformerLM<GptActs> {
  constructor(
    config: ModelConfig,
    k: Kernels,
    core: AttentionCore,
    seed: number,
    storeOptions: ParameterStoreOptions = {},
    mask: ModelAttentionMask = new ModelAttentionMask(),
  ) {
    super('GPT', config, k, core, mask, storeOptions, (p) => declareGptParameters(p, config));
    initParameters(this.params, seed, config.n_layers, gptInitKind);
  }

  paramUnits(): string[][] {
    return gptParamUnits(this.config);
  }

  private ensureActs(N: number): GptActs {
    if (this.acts && this.acts.N === N) return this.acts;
    const { d_model: C, d_ff: F, vocab_size: V, n_layers: L } = this.config;
    const blocks: GptBlockActs[] = [];
    for (let i = 0; i < L; i++) blocks.push(allocGptBlockActs(N, C, F));
    this.acts = {
      N, x0: new Float32Array(N * C), blocks,
      lnf: new Float32Array(N * C), lnfMean: new Float32Array(N), lnfRstd: new Float32Array(N),
      logits: new Float32Array(N * V), losses: new Float32Array(N),
      // Allocated on first backward, so sampling never pays for it.
      dlogits: new Float32Array(0),
      dlnf: new Float32Array(N * C), dres: new Float32Array(N * C),
      scratch: allocGptBlockScratch(N, C, F),
    };
    return this.acts;
  }

  private dims(): GptBlockDims {
    const { d_model: C, n_heads: H, d_ff: F, norm_eps: eps } = this.config;
    return { shape: { B: this.batch.B, T: this.batch.T, H, Hkv: H, D: C / H }, C, F, eps };
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
    embedding_forward(a.x0, bc.tokens, emb.value('wte.weight'), N, C, false);
    embedding_forward(a.x0, bc.positions, emb.value('wpe.weight'), N, C, true);
    pv.release(0, 'forward');
    let x = a.x0; // [N, C]
    for (let i = 0; i < L; i++) {
      const blk = a.blocks[i] as GptBlockActs;
      const views = pv.acquire(i + 1, 'forward', i + 1 < L ? i + 2 : 0);
      gpt_block_forward(this.k, this.core, gptBlockWeights(views, i, false), blk, x, dims, mask);
      pv.release(i + 1, 'forward');
      x = blk.resOut;
    }
    const head = pv.acquire(0, 'forward', null);
    this.k.layernorm_forward(a.lnf, a.lnfMean, a.lnfRstd, x, head.value('ln_f.weight'),
      head.value('ln_f.bias'), N, C, this.config.norm_eps);
    const lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, head.value('wte.weight'),
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
    const last = L > 0 ? (a.blocks[L - 1] as GptBlockActs).resOut : a.x0;
    const head = pv.acquire(0, 'backward', L > 0 ? L : 0);
    a.dlnf.fill(0);
    lm_head_backward(this.k, a.dlnf, head.grad('wte.weight'), a.dlogits, a.logits, a.lnf, head.value('wte.weight'),
      bc.targets, lossScale, N, C, V);
    a.dres.fill(0);
    this.k.layernorm_backward(a.dres, head.grad('ln_f.weight'), head.grad('ln_f.bias'), a.dlnf, last,
      head.value('ln_f.weight'), a.lnfMean, a.lnfRstd, N, C);
    pv.release(0, 'backward');
    for (let i = L - 1; i >= 0; i--) {
      const inp = i > 0 ? (a.blocks[i - 1] as GptBlockActs).resOut : a.x0;
      const views = pv.acquire(i + 1, 'backward', i > 0 ? i : 0);
      gpt_block_backward(this.k, this.core, gptBlockWeights(views, i, false), gptBlockWeights(views, i, true),
        a.blocks[i] as GptBlockActs, a.scratch, a.dres, inp, dims);
      pv.release(i + 1, 'backward');
    }
    const emb = pv.acquire(0, 'backward', null);
    embedding_backward(emb.grad('wte.weight'), a.dres, bc.tokens, N, C);
    embedding_backward(emb.grad('wpe.weight'), a.dres, bc.positions, N, C);
    pv.release(0, 'backward');
  }
}
