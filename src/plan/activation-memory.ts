// Activation bytes of one rank for one micro-batch, for any element size. The per-block counts
// are the engine's own (gptBlockFloats / llamaBlockFloats, with the MLP tile rows they take), and
// the layout is the engine's under its memory options: the fp32 instance (CPU_ACTIVATIONS) equals
// estimateActivationBytes with checkpointing and MLP / logits tiling on or off. On GPUs the same
// tensors are bf16 (norm statistics and the logits the loss reads stay fp32).
//
// Shape legend: n = tokens on the rank (B × local sequence), C = d_model, KV = kv heads × head
// size, F = MLP width, V = vocabulary, L = layers, R = rows of one tile.
//   each layer keeps: [n, C] and [n, KV] tensors (element bytes), [n] norm statistics (stat bytes),
//                     [n, F] MLP tensors unless the MLP is tiled (recomputed tile by tile in backward)
//   checkpointing:    the L layer inputs [n, C] (x0 among them) and one layer's full set, rebuilt in turn
//   once:             block scratch (its MLP part [R, F]-sized when tiled), dres [n, C], the batch copy
//                     (four int32 [n]); the head: lnf, dlnf [n, C], statistics and losses [n], logits and
//                     dlogits [n, V]; or tiled: losses [n], dx [n, C], one tile's rows [R, 2C + V + stats],
//                     the head's weight-gradient accumulator [V, C] and the norm's [C] (+ bias)
import type { ModelConfig } from '../nn/model-config.js';
import { gptBlockFloats } from '../nn/gpt-block.js';
import { llamaBlockFloats } from '../nn/llama-block.js';

export interface ActivationPrecision {
  /** Bytes of an activation element. */
  readonly element: number;
  /** Bytes of a per-token statistic (norm mean / rstd, loss). */
  readonly stat: number;
  /** Bytes of a logit (the loss is computed in fp32). */
  readonly logit: number;
  /** Bytes per token of the batch the model keeps (four int32 arrays). */
  readonly batchPerToken: number;
}

/** The engine on CPUs: everything fp32. */
export const CPU_ACTIVATIONS: ActivationPrecision = { element: 4, stat: 4, logit: 4, batchPerToken: 16 };

/** GPUs: bf16 activations, fp32 statistics and logits. */
export const GPU_BF16_ACTIVATIONS: ActivationPrecision = { element: 2, stat: 4, logit: 4, batchPerToken: 16 };

export interface ActivationOptions {
  /** Keep only each layer's input and recompute the layer in backward (the engine's `checkpoint`). */
  readonly checkpointing: boolean;
  /** Sequence-tiled MLP and logits + loss (the engine's `mlpTile` and `logitsTile`). */
  readonly tiling: boolean;
  /** Rows per tile, both tilings (default d_model, the rule ALST's tiled MLP uses). */
  readonly tileTokens?: number;
}

export interface ActivationBreakdown {
  /** The layer stack: what the layers keep (and, checkpointing, the one rebuilt layer). */
  readonly layers: number;
  /** The block scratch backward reuses. */
  readonly working: number;
  /** dres, the head's buffers, the batch copy. */
  readonly model: number;
  readonly total: number;
}

interface BlockSplit {
  wide: number; // floats of [n, C] and [n, KV] tensors one block keeps
  stat: number; // floats of [n] statistics one block keeps
  mlp: number; // floats of [n, F] tensors one block keeps (0 when tiled)
  scratch: number; // floats of the shared block scratch
}

/** The engine's per-block float counts for n tokens and MLP tiles of R rows (0: untiled), split by kind. */
function blockSplit(c: ModelConfig, n: number, R: number): BlockSplit {
  const C = c.d_model;
  const KV = c.n_kv_heads * (C / c.n_heads);
  const f = c.arch === 'gpt'
    ? (cc: number, ff: number) => gptBlockFloats(n, cc, ff, R)
    : (cc: number, ff: number) => llamaBlockFloats(n, cc, cc === 0 ? 0 : KV, ff, R);
  const all = f(C, c.d_ff);
  const stat = f(0, 0).acts;
  const mlp = f(0, c.d_ff).acts - stat;
  return { stat, mlp, wide: all.acts - stat - mlp, scratch: all.scratch };
}

/**
 * Activation bytes of the model's own buffers on one rank holding n tokens. extraPerLayer: bytes a
 * strategy adds to what every layer keeps (attention-core copies, gathered inputs); under
 * checkpointing it is held for the one rebuilt layer only.
 */
export function modelActivationBytes(
  c: ModelConfig, n: number, p: ActivationPrecision, o: ActivationOptions, extraPerLayer = 0,
): ActivationBreakdown {
  const C = c.d_model;
  const V = c.vocab_size;
  const R = o.tiling ? Math.max(1, Math.min(n, o.tileTokens ?? C)) : 0;
  const b = blockSplit(c, n, R);
  const layer = b.wide * p.element + b.stat * p.stat + b.mlp * p.element + extraPerLayer;
  const layers = o.checkpointing ? c.n_layers * n * C * p.element + layer : n * C * p.element + c.n_layers * layer;
  const working = b.scratch * p.element;
  const normBias = c.arch === 'gpt' ? 1 : 0; // LayerNorm has a mean and a bias, RMSNorm neither
  const head = R > 0
    ? n * p.stat + n * C * p.element + R * (2 * C * p.element + V * p.logit + (1 + normBias) * p.stat) + (V * C + C + normBias * C) * p.element
    : 2 * n * C * p.element + (2 + normBias) * n * p.stat + 2 * n * V * p.logit;
  const model = n * C * p.element + head + n * p.batchPerToken;
  return { layers, working, model, total: layers + working + model };
}
