// What the tensor-parallel GPT and Llama share: the layout of this rank's slices, the sequence
// collectives of the tp group, initialisation as the slices of the one-worker model of the same
// seed, the memory options, and the check that a batch is this rank's sequence shard.
//
// Shape legend: N = full sequence, n = tokens this rank holds, P = tp degree.
import type { AttentionCore } from '../../attention/attention-core.js';
import { LocalAttention } from '../../attention/local-attention.js';
import type { Communicator } from '../../dist/communicator.js';
import type { Group } from '../../dist/group.js';
import type { Kernels } from '../../kernels/kernels.js';
import { ModelAttentionMask } from '../../nn/attention-mask.js';
import type { TokenBatch } from '../../nn/causal-lm.js';
import { checkMemoryOptions, PLAIN_MEMORY, type MemoryOptions } from '../../nn/memory-options.js';
import { createModel, modelLayout } from '../../nn/create-model.js';
import type { ModelConfig } from '../../nn/model-config.js';
import { TransformerLM, type LmActs } from '../../nn/transformer-lm.js';
import { SequenceCollectives } from './sequence-collectives.js';
import { TpLayout } from './tp-layout.js';

export interface TpModelOptions {
  comm: Communicator;
  /** The tensor- and sequence-parallel group (its size is the degree P). */
  group: Group;
  /** Full sequence length N of every batch; this rank's batches hold splitCounts(N, P)[rank] tokens. */
  seqLen: number;
  kernels: Kernels;
  /** Seed of the one-worker model's initialisation, whose slices this rank keeps. */
  seed: number;
  /** Attention over this rank's heads and the whole sequence (default: LocalAttention). */
  attention?: AttentionCore;
  /** Sliding window / block-sparse options, built for the full sequence. */
  mask?: ModelAttentionMask;
  /**
   * Checkpointing (a block keeps its [B, n, C] input and replays its forward, collectives
   * included, in backward), the MLP tiled over the gathered tokens, logits + loss tiled over this
   * rank's tokens, bf16 saved activations (default: none).
   */
  memory?: MemoryOptions;
}

export abstract class TpLM<A extends LmActs> extends TransformerLM<A> {
  readonly layout: TpLayout;
  readonly seq: SequenceCollectives;
  protected readonly memory: MemoryOptions;

  constructor(name: string, config: ModelConfig, o: TpModelOptions) {
    const layout = new TpLayout(config, o.group.ranks.length);
    super(name, config, o.kernels, o.attention ?? new LocalAttention(o.kernels), o.mask ?? new ModelAttentionMask(), {},
      (p) => layout.declareLocal(p));
    this.layout = layout;
    this.memory = o.memory ?? PLAIN_MEMORY;
    checkMemoryOptions(this.memory);
    this.seq = new SequenceCollectives(o.comm, o.group, o.seqLen);
    // The one-worker model's own initialisation, of which this rank keeps its part.
    this.loadFullParams(createModel(config, { kernels: o.kernels, seed: o.seed }).params.data);
  }

  /** Rank index in the tp group. */
  get tpRank(): number {
    return this.seq.group.index;
  }

  /** Sets this rank's parameters from the whole model's vector (the one-worker model's flat layout). */
  loadFullParams(full: Float32Array): void {
    this.layout.takeLocal(full, this.params.data, this.params.infos, this.tpRank);
  }

  paramUnits(): string[][] {
    return modelLayout(this.config).units;
  }

  /** A tp rank reads its own slices; gathering units from ZeRO-3 shards is not supported. */
  override setParamProvider(): void {
    throw new Error(`${this.constructor.name}: Megatron-SP models read their own weight slices; zero_optimization.stage 3 is not supported`);
  }

  /** Copies batch (this rank's sequence shard) into this.batch, or says which shard was expected. */
  protected loadShard(batch: TokenBatch): void {
    if (batch.T !== this.seq.local) {
      throw new RangeError(
        `${this.constructor.name}: rank ${this.tpRank} of ${this.layout.P} holds ${this.seq.local} tokens of a ${this.seq.N}-token ` +
          `sequence, but the batch has T = ${batch.T}; pass this rank's sequence shard`,
      );
    }
    this.batch.load(this.config, batch);
  }
}
