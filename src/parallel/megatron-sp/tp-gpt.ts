// GPT-2 under Megatron-LM tensor + sequence parallelism: each rank of the tp group embeds, norms
// and scores the loss of its own tokens (the sequence shard the data loader gives it) and holds
// its slices of every block's c_attn, c_proj, c_fc and c_proj (TpLayout). Its lossSum and
// count cover its tokens only, so summing them over the group gives the whole sequence's loss,
// as with Ulysses. Initialised from the same seed as GPT, it computes the same function.
//
// Shape legend: B = batch, N = full sequence, n = tokens this rank holds, Nl = B*n, C = d_model,
// V = vocabulary, L = layers, P = tp degree, h = H/P, f = F/P.
import type { ForwardResult, TokenBatch } from '../../nn/causal-lm.js';
import { embedding_backward, embedding_forward } from '../../nn/embedding.js';
import { gptBlockWeights } from '../../nn/gpt-block.js';
import { lm_head_backward, lm_head_forward } from '../../nn/lm-head.js';
import type { ModelConfig } from '../../nn/model-config.js';
import type { LmActs } from '../../nn/transformer-lm.js';
import { TpLM, type TpModelOptions } from './tp-lm.js';
import {
  allocTpGptBlockActs, allocTpGptBlockScratch, tp_gpt_block_backward, tp_gpt_block_forward,
  type TpGptBlockActs, type TpGptBlockScratch, type TpGptDims,
} from './tp-gpt-block.js';

interface TpGptActs extends LmActs {
  x0: Float32Array; // [Nl, C]
  blocks: TpGptBlockActs[]; // [L]
  lnf: Float32Array; // [Nl, C]
  lnfMean: Float32Array; // [Nl]
  lnfRstd: Float32Array; // [Nl]
  losses: Float32Array; // [Nl]
  dlnf: Float32Array; // [Nl, C]
  dres: Float32Array; // [Nl, C]
  scratch: TpGptBlockScratch;
}

export class TpGpt extends TpLM<TpGptActs> {
  constructor(config: ModelConfig, o: TpModelOptions) {
    if (config.arch !== 'gpt') throw new RangeError(`TpGpt: the config is for arch "${config.arch}"; use TpLlama`);
    super('TpGpt', config, o);
  }

  private dims(B: number): TpGptDims {
    const { d_model: C, n_heads: H, d_ff: F, norm_eps: eps } = this.config;
    const P = this.layout.P;
    return { B, N: this.seq.N, n: this.seq.local, C, h: H / P, D: C / H, f: F / P, eps };
  }

  private ensureActs(d: TpGptDims): TpGptActs {
    const Nl = d.B * d.n;
    if (this.acts && this.acts.N === Nl) return this.acts;
    const { d_model: C, vocab_size: V, n_layers: L } = this.config;
    const blocks: TpGptBlockActs[] = [];
    for (let i = 0; i < L; i++) blocks.push(allocTpGptBlockActs(d));
    this.acts = {
      N: Nl, x0: new Float32Array(Nl * C), blocks,
      lnf: new Float32Array(Nl * C), lnfMean: new Float32Array(Nl), lnfRstd: new Float32Array(Nl),
      logits: new Float32Array(Nl * V), losses: new Float32Array(Nl), dlogits: new Float32Array(0),
      dlnf: new Float32Array(Nl * C), dres: new Float32Array(Nl * C), scratch: allocTpGptBlockScratch(d),
    };
    return this.acts;
  }

  forward(batch: TokenBatch): ForwardResult {
    this.forwardDone = false;
    const bc = this.batch;
    this.loadShard(batch);
    const { d_model: C, vocab_size: V } = this.config;
    const d = this.dims(bc.B);
    const Nl = d.B * d.n;
    const a = this.ensureActs(d);
    const local = bc.docIds;
    const docIds = local ? this.seq.allGatherIds(local, d.B, 'docIds') : null;
    const mask = this.mask.spec(d.N, docIds);
    const p = this.params;
    embedding_forward(a.x0, bc.tokens, p.value('wte.weight'), Nl, C, false);
    embedding_forward(a.x0, bc.positions, p.value('wpe.weight'), Nl, C, true);
    let x = a.x0;
    a.blocks.forEach((blk, i) => {
      tp_gpt_block_forward(this.k, this.core, this.seq, gptBlockWeights(p, i, false), blk, a.scratch, x, d, mask);
      x = blk.resOut;
    });
    this.k.layernorm_forward(a.lnf, a.lnfMean, a.lnfRstd, x, p.value('ln_f.weight'), p.value('ln_f.bias'), Nl, C, d.eps);
    const lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, p.value('wte.weight'), bc.hasTargets ? bc.targets : null, Nl, C, V);
    this.forwardDone = true;
    return { lossSum, count: bc.count };
  }

  backward(lossScale: number): void {
    const a = this.actsForBackward();
    const bc = this.batch;
    const { d_model: C, vocab_size: V } = this.config;
    const d = this.dims(bc.B);
    const Nl = a.N;
    const L = a.blocks.length;
    const p = this.params;
    const last = L > 0 ? (a.blocks[L - 1] as TpGptBlockActs).resOut : a.x0;
    a.dlnf.fill(0);
    lm_head_backward(this.k, a.dlnf, p.grad('wte.weight'), a.dlogits, a.logits, a.lnf, p.value('wte.weight'), bc.targets, lossScale, Nl, C, V);
    a.dres.fill(0);
    this.k.layernorm_backward(a.dres, p.grad('ln_f.weight'), p.grad('ln_f.bias'), a.dlnf, last, p.value('ln_f.weight'), a.lnfMean, a.lnfRstd, Nl, C);
    for (let i = L - 1; i >= 0; i--) {
      const inp = i > 0 ? (a.blocks[i - 1] as TpGptBlockActs).resOut : a.x0;
      tp_gpt_block_backward(this.k, this.core, this.seq, gptBlockWeights(p, i, false), gptBlockWeights(p, i, true),
        a.blocks[i] as TpGptBlockActs, a.scratch, a.dres, inp, d);
    }
    embedding_backward(p.grad('wte.weight'), a.dres, bc.tokens, Nl, C);
    embedding_backward(p.grad('wpe.weight'), a.dres, bc.positions, Nl, C);
  }
}
