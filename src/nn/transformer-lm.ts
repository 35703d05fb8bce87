// What GPT and Llama share around their own forward and backward: the parameter store and its
// provider (the hook ZeRO-3 uses), the copied batch, the activation buffers of the last forward,
// and the checks that backward and lastLogits follow a forward.
//
// Shape legend: N = B*T tokens of the last forward, V = vocabulary.
import type { AttentionCore } from '../attention/attention-core.js';
import type { Kernels } from '../kernels/kernels.js';
import { ModelAttentionMask } from './attention-mask.js';
import { BatchCopy } from './batch.js';
import { typedArrayBytes } from './buffer-bytes.js';
import type { CausalLM, ForwardResult, TokenBatch } from './causal-lm.js';
import type { ModelConfig } from './model-config.js';
import { FullParamProvider, type ParamProvider } from './param-provider.js';
import { ParameterStore, type ParameterStoreOptions } from './parameters.js';

/** The buffers every model keeps from forward for backward and for lastLogits. */
export interface LmActs {
  N: number;
  logits: Float32Array; // [N, V]
  dlogits: Float32Array; // [N, V], allocated on the first backward so sampling never pays for it
  /** Logits are tiled and their backward fused into forward: no whole logits with targets, no dlogits. */
  fusedHead?: boolean;
}

export abstract class TransformerLM<A extends LmActs> implements CausalLM {
  readonly params: ParameterStore;
  protected provider: ParamProvider;
  protected readonly batch = new BatchCopy();
  protected acts: A | null = null;
  protected forwardDone = false;

  constructor(
    /** Model name used in error messages. */
    private readonly modelName: string,
    readonly config: ModelConfig,
    protected readonly k: Kernels,
    protected readonly core: AttentionCore,
    protected readonly mask: ModelAttentionMask,
    storeOptions: ParameterStoreOptions,
    declare: (params: ParameterStore) => void,
  ) {
    this.params = new ParameterStore(storeOptions);
    declare(this.params);
    this.params.finalize();
    this.provider = new FullParamProvider(this.params);
  }

  abstract forward(batch: TokenBatch): ForwardResult;
  abstract backward(lossScale: number): void;
  /** Parameter names per provider unit: unit 0 holds embeddings and head, unit i + 1 block i. */
  abstract paramUnits(): string[][];

  setParamProvider(p: ParamProvider): void {
    this.provider = p;
  }

  activationBytes(): number {
    // The attention core owns what it saves; the model counts its own buffers.
    return typedArrayBytes(this.acts, new Set(['saved'])) + typedArrayBytes(this.batch);
  }

  lastLogits(): Float32Array {
    if (!this.acts || !this.forwardDone) throw new Error(`${this.modelName}.lastLogits: call forward first`);
    if (this.acts.logits.length < this.acts.N * this.config.vocab_size) {
      throw new Error(`${this.modelName}.lastLogits: tiled logits keep no [N, vocab] logits after a forward with targets; ` +
        'run forward with targets: null to get them');
    }
    return this.acts.logits;
  }

  /** The activations of the last forward, checked to have targets, with dlogits allocated. */
  protected actsForBackward(): A {
    const a = this.acts;
    if (!a || !this.forwardDone) throw new Error(`${this.modelName}.backward: call forward first`);
    if (!this.batch.hasTargets) throw new Error(`${this.modelName}.backward: the last forward had no targets`);
    const NV = a.N * this.config.vocab_size;
    if (!a.fusedHead && a.dlogits.length !== NV) a.dlogits = new Float32Array(NV);
    return a;
  }
}
