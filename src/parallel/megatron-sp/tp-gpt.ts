// GPT-2 under Megatron-LM tensor + sequence parallelism: each rank embeds, norms and scores the
// loss of its own tokens (the sequence shard the data loader gives it) and holds its slices of
// every block's c_attn, c_proj, c_fc and c_proj (TpLayout). Its lossSum and count cover its
// tokens only, so summing them over the group gives the whole sequence's loss, as with Ulysses.
// Initialised from the same seed as GPT, it computes the same function. The blocks run through
// the layer stack of src/nn (checkpointing replays a block's forward, its all-gathers and
// reduce-scatters included, in the same layer order on every rank; bf16 storage); the MLP may be
// tiled over the gathered tokens and the head over this rank's tokens.
//
// Shape legend: B = batch, N = full sequence, n = tokens this rank holds, Nl = B*n, C = d_model,
// V = vocabulary, L = layers, P = tp degree, h = H/P, f = F/P.
import type { AttentionMaskSpec } from '../../kernels/kernels.js';
import type { ForwardResult, TokenBatch } from '../../nn/causal-lm.js';
import { embedding_backward, embedding_forward } from '../../nn/embedding.js';
import { gptBlockWeights } from '../../nn/gpt-block.js';
import {
  allocLayerStack, layer_stack_backward, layer_stack_forward, stackInput, stackOutput, type BlockKind, type LayerStackActs,
} from '../../nn/layer-stack.js';
import { lm_head_backward, lm_head_forward } from '../../nn/lm-head.js';
import { tileRows, type MemoryOptions } from '../../nn/memory-options.js';
import type { ModelConfig } from '../../nn/model-config.js';
import type { ParamViews } from '../../nn/param-provider.js';
import { allocTiledHead, tiled_head_backward, tiled_head_forward, type FinalNorm, type TiledHeadActs } from '../../nn/tiled-head.js';
import type { LmActs } from '../../nn/transformer-lm.js';
import { TpLM, type TpModelOptions } from './tp-lm.js';
import {
  allocTpGptBlockActs, allocTpGptBlockScratch, tp_gpt_block_backward, tp_gpt_block_forward, tpGptBlockSavedArrays,
  type TpGptBlockActs, type TpGptBlockScratch, type TpGptDims,
} from './tp-gpt-block.js';

interface TpGptActs extends LmActs {
  stack: LayerStackActs<TpGptBlockActs>;
  scratch: TpGptBlockScratch;
  dres: Float32Array; // [Nl, C]
  // The whole head (logits not tiled); [0] when tiled.
  lnf: Float32Array; // [Nl, C]
  lnfMean: Float32Array; // [Nl]
  lnfRstd: Float32Array; // [Nl]
  losses: Float32Array; // [Nl]
  dlnf: Float32Array; // [Nl, C]
  head: TiledHeadActs | null;
}

/** The dims of a TpGpt block for B rows (R: MLP tile rows of the gathered B*N tokens). */
export function tpGptDims(config: ModelConfig, P: number, B: number, N: number, n: number, m: MemoryOptions): TpGptDims {
  const { d_model: C, n_heads: H, d_ff: F, norm_eps: eps } = config;
  const f = F / P;
  return { B, N, n, C, h: H / P, D: C / H, f, eps, R: tileRows(m.mlpTile, B * N, f) };
}

export class TpGpt extends TpLM<TpGptActs> {
  private lastMask: AttentionMaskSpec | null = null;

  constructor(config: ModelConfig, o: TpModelOptions) {
    if (config.arch !== 'gpt') throw new RangeError(`TpGpt: the config is for arch "${config.arch}"; use TpLlama`);
    super('TpGpt', config, o);
  }

  private dims(B: number): TpGptDims {
    return tpGptDims(this.config, this.layout.P, B, this.seq.N, this.seq.local, this.memory);
  }

  private ensureActs(d: TpGptDims): TpGptActs {
    const Nl = d.B * d.n;
    if (this.acts && this.acts.N === Nl) return this.acts;
    const { d_model: C, vocab_size: V, n_layers: L } = this.config;
    const m = this.memory;
    const Rv = tileRows(m.logitsTile, Nl, V);
    const whole = Rv === 0 ? Nl : 0;
    const kind = { allocActs: () => allocTpGptBlockActs(d), savedArrays: tpGptBlockSavedArrays };
    this.acts = {
      N: Nl, stack: allocLayerStack(kind, L, Nl, C, { checkpoint: m.checkpoint, bf16: m.bf16Activations }),
      scratch: allocTpGptBlockScratch(d), dres: new Float32Array(Nl * C),
      lnf: new Float32Array(whole * C), lnfMean: new Float32Array(whole), lnfRstd: new Float32Array(whole),
      losses: new Float32Array(whole), dlnf: new Float32Array(whole * C),
      logits: new Float32Array(whole * V), dlogits: new Float32Array(0),
      head: Rv > 0 ? allocTiledHead(Nl, C, V, Rv, true) : null, fusedHead: Rv > 0,
    };
    return this.acts;
  }

  /** The blocks as the layer stack drives them; a recompute replays the whole forward, collectives included. */
  private blockKind(d: TpGptDims, mask: AttentionMaskSpec): BlockKind<TpGptBlockActs> {
    const s = (): TpGptBlockScratch => (this.acts as TpGptActs).scratch;
    const fwd = (i: number, w: ParamViews, a: TpGptBlockActs, inp: Float32Array): void =>
      tp_gpt_block_forward(this.k, this.core, this.seq, gptBlockWeights(w, i, false), a, s(), inp, d, mask);
    return {
      allocActs: () => allocTpGptBlockActs(d),
      savedArrays: tpGptBlockSavedArrays,
      forward: fwd,
      recompute: fwd,
      backward: (i, w, a, dres, inp) => tp_gpt_block_backward(this.k, this.core, this.seq, gptBlockWeights(w, i, false),
        gptBlockWeights(w, i, true), a, s(), dres, inp, d),
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
    this.loadShard(batch);
    const { d_model: C, vocab_size: V } = this.config;
    const d = this.dims(bc.B);
    const Nl = d.B * d.n;
    const a = this.ensureActs(d);
    const local = bc.docIds;
    const docIds = local ? this.seq.allGatherIds(local, d.B, 'docIds') : null;
    const mask = this.mask.spec(d.N, docIds);
    this.lastMask = mask;
    const p = this.params;
    const x0 = stackInput(a.stack); // [Nl, C]
    embedding_forward(x0, bc.tokens, p.value('wte.weight'), Nl, C, false);
    embedding_forward(x0, bc.positions, p.value('wpe.weight'), Nl, C, true);
    layer_stack_forward(this.blockKind(d, mask), a.stack, this.provider);
    const x = stackOutput(a.stack); // [Nl, C]
    const targets = bc.hasTargets ? bc.targets : null;
    let lossSum: number;
    if (a.head) {
      // Whole logits exist only for a forward without targets (sampling); training drops them.
      if (!targets && a.logits.length !== Nl * V) a.logits = new Float32Array(Nl * V);
      if (targets) a.logits = new Float32Array(0);
      lossSum = tiled_head_forward(this.k, this.finalNorm(p.value('ln_f.weight'), p.value('ln_f.bias')), a.head, x, p.value('wte.weight'),
        targets, targets ? null : a.logits, Nl, C, V, tileRows(this.memory.logitsTile, Nl, V));
    } else {
      this.k.layernorm_forward(a.lnf, a.lnfMean, a.lnfRstd, x, p.value('ln_f.weight'), p.value('ln_f.bias'), Nl, C, d.eps);
      lossSum = lm_head_forward(this.k, a.logits, a.losses, a.lnf, p.value('wte.weight'), targets, Nl, C, V);
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
      tiled_head_backward(a.head, lossScale, a.dres, p.grad('wte.weight'), p.grad('ln_f.weight'), p.grad('ln_f.bias'));
    } else {
      a.dlnf.fill(0);
      lm_head_backward(this.k, a.dlnf, p.grad('wte.weight'), a.dlogits, a.logits, a.lnf, p.value('wte.weight'), bc.targets, lossScale, Nl, C, V);
      a.dres.fill(0);
      this.k.layernorm_backward(a.dres, p.grad('ln_f.weight'), p.grad('ln_f.bias'), a.dlnf, stackOutput(a.stack), p.value('ln_f.weight'),
        a.lnfMean, a.lnfRstd, Nl, C);
    }
    layer_stack_backward(this.blockKind(d, this.lastMask as AttentionMaskSpec), a.stack, this.provider, a.dres);
    embedding_backward(p.grad('wte.weight'), a.dres, bc.tokens, Nl, C);
    embedding_backward(p.grad('wpe.weight'), a.dres, bc.positions, Nl, C);
  }
}
