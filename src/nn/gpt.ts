// GPT-2 (pre-LN transformer, learned positions, GELU MLP, tied embeddings) with explicit
// forward and backward. Parameter names and layouts are Hugging Face GPT2LMHeadModel's minus the
// "transformer." prefix (Conv1D weights are [in, out]); the lm_head is wte itself.
//
// Shape legend: B = batch, T = tokens this rank holds, N = B*T, C = d_model, V = vocabulary,
// H = heads, D = C/H, F = d_ff, P = max_seq_len, L = layers.
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
  allocGptBlockActs, allocGptBlockScratch, declareGptBlock, gpt_block_backward, gpt_block_forward, gptBlockWeights,
  type GptBlockActs, type GptBlockDims, type GptBlockScratch, type GptBlockWeights,
} from './gpt-block.js';

interface GptActs {
  N: number;
  x0: Float32Array; // [N, C] token + position embeddings
  blocks: GptBlockActs[]; // [L]
  lnf: Float32Array; // [N, C]
  lnfMean: Float32Array; // [N]
  lnfRstd: Float32Array; // [N]
  logits: Float32Array; // [N, V]
  losses: Float32Array; // [N]
  dlogits: Float32Array; // [N, V]
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

export class GPT implements CausalLM {
  readonly params = new ParameterStore();
  private readonly w: GptBlockWeights[]; // [L] parameter views
  private readonly g: GptBlockWeights[]; // [L] gradient views
  private readonly batch = new BatchCopy();
  private acts: GptActs | null = null;
  private forwardDone = false;

  constructor(
    readonly config: ModelConfig,
    private readonly k: Kernels,
    private readonly core: AttentionCore,
    seed: number,
  ) {
    const { vocab_size: V, max_seq_len: P, d_model: C, d_ff: F, n_layers: L } = config;
    this.params.declare('wte.weight', [V, C], true);
    this.params.declare('wpe.weight', [P, C], false);
    for (let i = 0; i < L; i++) declareGptBlock(this.params, i, C, F);
    this.params.declare('ln_f.weight', [C], false);
    this.params.declare('ln_f.bias', [C], false);
    this.params.finalize();
    initParameters(this.params, seed, L, gptInitKind);
    this.w = [];
    this.g = [];
    for (let i = 0; i < L; i++) {
      this.w.push(gptBlockWeights(this.params, i, false));
      this.g.push(gptBlockWeights(this.params, i, true));
    }
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
    const mask: AttentionMaskSpec = { causal: true, docIds: bc.docIds };
    embedding_forward(a.x0, bc.tokens, this.params.value('wte.weight'), N, C, false);
    embedding_forward(a.x0, bc.positions, this.params.value('wpe.weight'), N, C, true);
    let x = a.x0; // [N, C]
    for (let i = 0; i < a.blocks.length; i++) {
      const blk = a.blocks[i] as GptBlockActs;
      gpt_block_forward(this.k, this.core, this.w[i] as GptBlockWeights, blk, x, dims, mask);
      x = blk.resOut;
    }
    this.k.layernorm_forward(a.lnf, a.lnfMean, a.lnfRstd, x, this.params.value('ln_f.weight'),
      this.params.value('ln_f.bias'), N, C, this.config.norm_eps);
    const lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, this.params.value('wte.weight'),
      bc.hasTargets ? bc.targets : null, N, C, V);
    this.forwardDone = true;
    return { lossSum, count: bc.count };
  }

  backward(lossScale: number): void {
    const a = this.acts;
    const bc = this.batch;
    if (!a || !this.forwardDone) throw new Error('GPT.backward: call forward first');
    if (!bc.hasTargets) throw new Error('GPT.backward: the last forward had no targets');
    const { d_model: C, vocab_size: V } = this.config;
    const N = a.N;
    const dims = this.dims();
    const p = this.params;
    if (a.dlogits.length !== N * V) a.dlogits = new Float32Array(N * V);
    const last = a.blocks.length > 0 ? (a.blocks[a.blocks.length - 1] as GptBlockActs).resOut : a.x0;
    a.dlnf.fill(0);
    lm_head_backward(this.k, a.dlnf, p.grad('wte.weight'), a.dlogits, a.logits, a.lnf, p.value('wte.weight'),
      bc.targets, lossScale, N, C, V);
    a.dres.fill(0);
    this.k.layernorm_backward(a.dres, p.grad('ln_f.weight'), p.grad('ln_f.bias'), a.dlnf, last,
      p.value('ln_f.weight'), a.lnfMean, a.lnfRstd, N, C);
    for (let i = a.blocks.length - 1; i >= 0; i--) {
      const inp = i > 0 ? (a.blocks[i - 1] as GptBlockActs).resOut : a.x0;
      gpt_block_backward(this.k, this.core, this.w[i] as GptBlockWeights, this.g[i] as GptBlockWeights,
        a.blocks[i] as GptBlockActs, a.scratch, a.dres, inp, dims);
    }
    embedding_backward(p.grad('wte.weight'), a.dres, bc.tokens, N, C);
    embedding_backward(p.grad('wpe.weight'), a.dres, bc.positions, N, C);
  }

  lastLogits(): Float32Array {
    if (!this.acts || !this.forwardDone) throw new Error('GPT.lastLogits: call forward first');
    return this.acts.logits;
  }
}
