// Llama under Megatron-LM tensor + sequence parallelism: each rank embeds, norms and scores the
// loss of its own tokens and holds its query heads, its kv heads (grouped-query attention keeps
// every query head with its kv head: P divides Hkv) and its MLP rows of every layer. RoPE needs
// the position of every token of the gathered sequence, so positions (and document ids) are
// all-gathered once per forward.
//
// Shape legend: B = batch, N = full sequence, n = tokens this rank holds, Nl = B*n, Nf = B*N,
// C = d_model, V = vocabulary, L = layers, P = tp degree.
import type { ForwardResult, TokenBatch } from '../../nn/causal-lm.js';
import { embedding_backward, embedding_forward } from '../../nn/embedding.js';
import { lm_head_backward, lm_head_forward } from '../../nn/lm-head.js';
import { llamaBlockWeights } from '../../nn/llama-block.js';
import type { ModelConfig } from '../../nn/model-config.js';
import type { LmActs } from '../../nn/transformer-lm.js';
import { TpLM, type TpModelOptions } from './tp-lm.js';
import {
  allocTpLlamaBlockActs, allocTpLlamaBlockScratch, tp_llama_block_backward, tp_llama_block_forward,
  type TpLlamaBlockActs, type TpLlamaBlockScratch, type TpLlamaDims,
} from './tp-llama-block.js';

interface TpLlamaActs extends LmActs {
  x0: Float32Array; // [Nl, C]
  pos: Int32Array; // [Nf] positions of the whole sequence
  blocks: TpLlamaBlockActs[]; // [L]
  lnf: Float32Array; // [Nl, C]
  lnfRstd: Float32Array; // [Nl]
  losses: Float32Array; // [Nl]
  dlnf: Float32Array; // [Nl, C]
  dres: Float32Array; // [Nl, C]
  scratch: TpLlamaBlockScratch;
}

export class TpLlama extends TpLM<TpLlamaActs> {
  /** Name of the [V, C] output projection: the embedding itself when tied. */
  private readonly headName: string;

  constructor(config: ModelConfig, o: TpModelOptions) {
    if (config.arch !== 'llama') throw new RangeError(`TpLlama: the config is for arch "${config.arch}"; use TpGpt`);
    super('TpLlama', config, o);
    this.headName = config.tie_embeddings ? 'embed_tokens.weight' : 'lm_head.weight';
  }

  private dims(B: number): TpLlamaDims {
    const { d_model: C, n_heads: H, n_kv_heads: Hkv, d_ff: F, norm_eps: eps, rope_theta: theta } = this.config;
    const P = this.layout.P;
    return { B, N: this.seq.N, n: this.seq.local, C, h: H / P, hkv: Hkv / P, D: C / H, f: F / P, eps, theta };
  }

  private ensureActs(d: TpLlamaDims): TpLlamaActs {
    const Nl = d.B * d.n;
    if (this.acts && this.acts.N === Nl) return this.acts;
    const { d_model: C, vocab_size: V, n_layers: L } = this.config;
    const blocks: TpLlamaBlockActs[] = [];
    for (let i = 0; i < L; i++) blocks.push(allocTpLlamaBlockActs(d));
    this.acts = {
      N: Nl, x0: new Float32Array(Nl * C), pos: new Int32Array(0), blocks,
      lnf: new Float32Array(Nl * C), lnfRstd: new Float32Array(Nl),
      logits: new Float32Array(Nl * V), losses: new Float32Array(Nl), dlogits: new Float32Array(0),
      dlnf: new Float32Array(Nl * C), dres: new Float32Array(Nl * C), scratch: allocTpLlamaBlockScratch(d),
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
    a.pos = this.seq.allGatherIds(bc.positions, d.B, 'positions');
    const mask = this.mask.spec(d.N, docIds);
    const p = this.params;
    embedding_forward(a.x0, bc.tokens, p.value('embed_tokens.weight'), Nl, C, false);
    let x = a.x0;
    a.blocks.forEach((blk, i) => {
      tp_llama_block_forward(this.k, this.core, this.seq, llamaBlockWeights(p, i, false), blk, a.scratch, x, a.pos, d, mask);
      x = blk.resOut;
    });
    this.k.rmsnorm_forward(a.lnf, a.lnfRstd, x, p.value('norm.weight'), Nl, C, d.eps);
    const lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, p.value(this.headName), bc.hasTargets ? bc.targets : null, Nl, C, V);
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
    const last = L > 0 ? (a.blocks[L - 1] as TpLlamaBlockActs).resOut : a.x0;
    a.dlnf.fill(0);
    lm_head_backward(this.k, a.dlnf, p.grad(this.headName), a.dlogits, a.logits, a.lnf, p.value(this.headName), bc.targets, lossScale, Nl, C, V);
    a.dres.fill(0);
    this.k.rmsnorm_backward(a.dres, p.grad('norm.weight'), a.dlnf, last, p.value('norm.weight'), a.lnfRstd, Nl, C);
    for (let i = L - 1; i >= 0; i--) {
      const inp = i > 0 ? (a.blocks[i - 1] as TpLlamaBlockActs).resOut : a.x0;
      tp_llama_block_backward(this.k, this.core, this.seq, llamaBlockWeights(p, i, false), llamaBlockWeights(p, i, true),
        a.blocks[i] as TpLlamaBlockActs, a.scratch, a.dres, inp, a.pos, d);
    }
    embedding_backward(p.grad('embed_tokens.weight'), a.dres, bc.tokens, Nl, C);
  }
}
