// The contract between a language model and whoever trains or samples from it.
//
// Shape legend: B = batch, T = local sequence length (tokens this rank holds), V = vocabulary.
import type { ModelConfig } from './model-config.js';
import type { ParamProvider } from './param-provider.js';
import type { ParameterStore } from './parameters.js';

export interface TokenBatch {
  B: number;
  T: number;
  /** [B, T] input token ids. */
  tokens: Int32Array;
  /** [B, T] next-token targets, already shifted; negative = ignored. Null when only logits are wanted. */
  targets: Int32Array | null;
  /** [B, T] global token positions (a sequence shard starts at its offset, not at 0). */
  positions: Int32Array;
  /** [B, T] document ids for packed sequences (attention stays inside a document), or null. */
  docIds: Int32Array | null;
}

export interface ForwardResult {
  /** Sum of per-token losses over tokens with a target (0 when targets is null). */
  lossSum: number;
  /** Number of tokens with a target. */
  count: number;
}

export interface CausalLM {
  readonly config: ModelConfig;
  /** Every parameter in one flat buffer with named views; grads share the layout. */
  readonly params: ParameterStore;
  /**
   * Runs the model, keeping what backward needs. Returns the summed loss so callers can
   * normalise by a global token count (a data-parallel or sequence-parallel group's).
   */
  forward(batch: TokenBatch): ForwardResult;
  /**
   * Adds d(lossScale * lossSum)/d(param) into params.grads for the last forward. Training
   * passes lossScale = 1 / (global token count), with gradient accumulation folded in.
   */
  backward(lossScale: number): void;
  /**
   * [B, T, V] logits of the last forward (valid until the next forward). With tiled logits only a
   * forward without targets keeps them (a training forward never holds [N, V]); otherwise it throws.
   */
  lastLogits(): Float32Array;
  /**
   * Parameter names per unit, the granularity a ParamProvider serves: unit 0 holds the embeddings,
   * the final norm and the output layer (used at both ends of a pass), unit i + 1 holds block i.
   */
  paramUnits(): string[][];
  /** Routes every weight and gradient access of forward and backward through p. */
  setParamProvider(p: ParamProvider): void;
  /** Bytes of the activation and backward scratch buffers allocated now (they grow on first use). */
  activationBytes(): number;
}
