// Llama under Megatron-LM tensor + sequence parallelism: each rank embeds, norms and scores the
// loss of its own tokens and holds its query heads, its kv heads (grouped-query attention keeps
// every query head with its kv head: P divides Hkv) and its MLP rows of every layer. RoPE needs
// the position of every token of the gathered sequence, so positions (and document ids) are
// all-gathered once per forward; a checkpointed layer's replay reuses them. The layers run
// through the layer stack of src/nn, as TpGpt's blocks do.
//
// Shape legend: B = batch, N = full sequence, n = tokens this rank holds, Nl = B*n, Nf = B*N,
// C = d_model, V = vocabulary, L = layers, P = tp degree.
import type { AttentionMaskSpec } from '../../kernels/kernels.js';
import type { ForwardResult, TokenBatch } from '../../nn/causal-lm.js';
import { embedding_backward, embedding_forward } from '../../nn/embedding.js';
import {
  allocLayerStack, layer_stack_backward, layer_stack_forward, stackInput, stackOutput, type BlockKind, type LayerStackActs,
} from '../../nn/layer-stack.js';
import { lm_head_backward, lm_head_forward } from '../../nn/lm-head.js';
import { llamaBlockWeights } from '../../nn/llama-block.js';
import { tileRows, type MemoryOptions } from '../../nn/memory-options.js';
import type { ModelConfig } from '../../nn/model-config.js';
import type { ParamViews } from '../../nn/param-provider.js';
import { allocTiledHead, tiled_head_backward, tiled_head_forward, type FinalNorm, type TiledHeadActs } from '../../nn/tiled-head.js';
import type { LmActs } from '../../nn/transformer-lm.js';
import { TpLM, type TpModelOptions } from './tp-lm.js';
import {
  allocTpLlamaBlockActs, allocTpLlamaBlockScratch, tp_llama_block_backward, tp_llama_block_forward, tpLlamaBlockSavedArrays,
  type TpLlamaBlockActs, type TpLlamaBlockScratch, type TpLlamaDims,
} from './tp-llama-block.js';

interface TpLlamaActs extends LmActs {
  pos: Int32Array; // [Nf] positions of the whole sequence
  stack: LayerStackActs<TpLlamaBlockActs>;
  scratch: TpLlamaBlockScratch;
  dres: Float32Array; // [Nl, C]
  // The whole head (logits not tiled); [0] when tiled.
  lnf: Float32Array; // [Nl, C]
  lnfRstd: Float32Array; // [Nl]
  losses: Float32Array; // [Nl]
  dlnf: Float32Array; // [Nl, C]
  head: TiledHeadActs | null;
}

/** The dims of a TpLlama layer for B rows (R: MLP tile rows of the gathered B*N tokens). */
export function tpLlamaDims(config: ModelConfig, P: number, B: number, N: number, n: number, m: MemoryOptions): TpLlamaDims {
  const { d_model: C, n_heads: H, n_kv_heads: Hkv, d_ff: F, norm_eps: eps, rope_theta: theta } = config;
  const f = F / P;
  return { B, N, n, C, h: H / P, hkv: Hkv / P, D: C / H, f, eps, theta, R: tileRows(m.mlpTile, B * N, f) };
}

export class TpLlama extends TpLM<TpLlamaActs> {
  /** Name of the [V, C] output projection: the embedding itself when tied. */
  private readonly headName: string;
  private lastMask: AttentionMaskSpec | null = null;

  constructor(config: ModelConfig, o: TpModelOptions) {
    if (config.arch !== 'llama') throw new RangeError(`TpLlama: the config is for arch "${config.arch}"; use TpGpt`);
    super('TpLlama', config, o);
    this.headName = config.tie_embeddings ? 'embed_tokens.weight' : 'lm_head.weight';
  }

  private dims(B: number): TpLlamaDims {
    return tpLlamaDims(this.config, this.layout.P, B, this.seq.N, this.seq.local, this.memory);
  }

  private ensureActs(d: TpLlamaDims): TpLlamaActs {
    const Nl = d.B * d.n;
    if (this.acts && this.acts.N === Nl) return this.acts;
    const { d_model: C, vocab_size: V, n_layers: L } = this.config;
    const m = this.memory;
    const Rv = tileRows(m.logitsTile, Nl, V);
    const whole = Rv === 0 ? Nl : 0;
    const kind = { allocActs: () => allocTpLlamaBlockActs(d), savedArrays: tpLlamaBlockSavedArrays };
    this.acts = {
      N: Nl, pos: new Int32Array(0), stack: allocLayerStack(kind, L, Nl, C, { checkpoint: m.checkpoint, bf16: m.bf16Activations }),
      scratch: allocTpLlamaBlockScratch(d), dres: new Float32Array(Nl * C),
      lnf: new Float32Array(whole * C), lnfRstd: new Float32Array(whole), losses: new Float32Array(whole), dlnf: new Float32Array(whole * C),
      logits: new Float32Array(whole * V), dlogits: new Float32Array(0),
      head: Rv > 0 ? allocTiledHead(Nl, C, V, Rv, false) : null, fusedHead: Rv > 0,
    };
    return this.acts;
  }

  /** The layers as the layer stack drives them; a recompute replays the whole forward, collectives included. */
  private blockKind(d: TpLlamaDims, mask: AttentionMaskSpec): BlockKind<TpLlamaBlockActs> {
    const acts = (): TpLlamaActs => this.acts as TpLlamaActs;
    const fwd = (i: number, w: ParamViews, a: TpLlamaBlockActs, inp: Float32Array): void =>
      tp_llama_block_forward(this.k, this.core, this.seq, llamaBlockWeights(w, i, false), a, acts().scratch, inp, acts().pos, d, mask);
    return {
      allocActs: () => allocTpLlamaBlockActs(d),
      savedArrays: tpLlamaBlockSavedArrays,
      forward: fwd,
      recompute: fwd,
      backward: (i, w, a, dres, inp) => tp_llama_block_backward(this.k, this.core, this.seq, llamaBlockWeights(w, i, false),
        llamaBlockWeights(w, i, true), a, acts().scratch, dres, inp, acts().pos, d),
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
    this.loadShard(batch);
    const { d_model: C, vocab_size: V } = this.config;
    const d = this.dims(bc.B);
    const Nl = d.B * d.n;
    const a = this.ensureActs(d);
    const local = bc.docIds;
    const docIds = local ? this.seq.allGatherIds(local, d.B, 'docIds') : null;
    a.pos = this.seq.allGatherIds(bc.positions, d.B, 'positions');
    const mask = this.mask.spec(d.N, docIds);
    this.lastMask = mask;
    const p = this.params;
    embedding_forward(stackInput(a.stack), bc.tokens, p.value('embed_tokens.weight'), Nl, C, false);
    layer_stack_forward(this.blockKind(d, mask), a.stack, this.provider);
    const x = stackOutput(a.stack); // [Nl, C]
    const targets = bc.hasTargets ? bc.targets : null;
    let lossSum: number;
    if (a.head) {
      // Whole logits exist only for a forward without targets (sampling); training drops them.
      if (!targets && a.logits.length !== Nl * V) a.logits = new Float32Array(Nl * V);
      if (targets) a.logits = new Float32Array(0);
      lossSum = tiled_head_forward(this.k, this.finalNorm(p.value('norm.weight')), a.head, x, p.value(this.headName),
        targets, targets ? null : a.logits, Nl, C, V, tileRows(this.memory.logitsTile, Nl, V));
    } else {
      this.k.rmsnorm_forward(a.lnf, a.lnfRstd, x, p.value('norm.weight'), Nl, C, d.eps);
      lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, p.value(this.headName), targets, Nl, C, V);
    }
    this.forwardDone = true;
    return { lossSum, count: bc.count };
  }

  backward(lossScale: number): void {
    const a = this.actsForBackward();
    const bc = this.batch;
    const { d_model: C, vocab_size: V } = this.config;
    const d = this.dims(bc.B);
    const Nl = a.N;
    const p = this.params;
    if (a.head) {
      tiled_head_backward(a.head, lossScale, a.dres, p.grad(this.headName), p.grad('norm.weight'), null);
    } else {
      a.dlnf.fill(0);
      lm_head_backward(this.k, a.dlnf, p.grad(this.headName), a.dlogits, a.logits, a.lnf, p.value(this.headName), bc.targets, lossScale, Nl, C, V);
      a.dres.fill(0);
      this.k.rmsnorm_backward(a.dres, p.grad('norm.weight'), a.dlnf, stackOutput(a.stack), p.value('norm.weight'), a.lnfRstd, Nl, C);
    }
    layer_stack_backward(this.blockKind(d, this.lastMask as AttentionMaskSpec), a.stack, this.provider, a.dres);
    embedding_backward(p.grad('embed_tokens.weight'), a.dres, bc.tokens, Nl, C);
  }
}
