// The bytes one Megatron-SP rank holds, from the config alone (for planning and `--dry-run`): its
// model states (replicated parameters whole, sharded ones as 1/P slices, each with gradient and
// two AdamW moments) and the activation buffers TpGpt / TpLlama allocate for a micro-batch under
// the memory options, the tensor-parallel region's ones over the whole sequence.
//
// Shape legend: B = batch, N = full sequence, n = tokens of the rank with the most (rank 0),
// Nl = B*n, Nf = B*N, C = d_model, V = vocabulary, L = layers, P = tp degree.
import { evenCounts } from '../../dist/collective-args.js';
import { layerStackBytes } from '../../nn/layer-stack.js';
import { checkMemoryOptions, PLAIN_MEMORY, tileRows, type MemoryOptions } from '../../nn/memory-options.js';
import type { ModelConfig } from '../../nn/model-config.js';
import { tiledHeadBytes } from '../../nn/tiled-head.js';
import { ParameterStore } from '../../nn/parameters.js';
import type { ModelStateMemory } from '../zero/engine.js';
import { tpGptBlockFloats } from './tp-gpt-block.js';
import { tpGptDims } from './tp-gpt.js';
import { tpLlamaBlockFloats } from './tp-llama-block.js';
import { tpLlamaDims } from './tp-llama.js';
import { TpLayout } from './tp-layout.js';
import { tpShareSize } from './tp-zero1.js';

/** Parameters one rank holds (replicated ones whole, sharded ones 1/P). */
export function megatronSpLocalNumel(config: ModelConfig, P: number): number {
  const store = new ParameterStore(); // declared only, never finalized
  new TpLayout(config, P).declareLocal(store);
  return store.numel;
}

/**
 * Model-state bytes of one rank (fp32 parameters, gradients and two AdamW moments; no comm
 * buffers). At ZeRO stage 1 rank 0's moments (the largest shares): the replicated parameters'
 * over dp × P ranks, the slices' over dp.
 */
export function megatronSpStateBytes(config: ModelConfig, P: number, stage = 0, dp = 1): ModelStateMemory {
  const n = megatronSpLocalNumel(config, P);
  const Mr = new TpLayout(config, P).replicatedNumel;
  const moments = stage === 1 ? tpShareSize(Mr, dp * P) + tpShareSize(n - Mr, dp) : n;
  return { params: 4 * n, grads: 4 * n, optimizer: 8 * moments, comm: 0 };
}

/**
 * Activation and scratch bytes rank 0 (the one with the most tokens) allocates for a forward and
 * backward of B rows of N tokens under the memory options: the layer stack (every block's saved
 * activations, or under checkpointing only the blocks' [Nl, C] inputs and one replayable set,
 * bf16 copies under bf16 storage), one block's scratch, the head (whole or tiled), dres, Llama's
 * gathered positions and the batch copy.
 */
export function megatronSpActivationBytes(config: ModelConfig, B: number, N: number, P: number, m: MemoryOptions = PLAIN_MEMORY): number {
  checkMemoryOptions(m);
  const { d_model: C, vocab_size: V, n_layers: L } = config;
  const n = evenCounts(N, P)[0] as number;
  const Nl = B * n;
  const gpt = config.arch === 'gpt';
  const blk = gpt ? tpGptBlockFloats(tpGptDims(config, P, B, N, n, m)) : tpLlamaBlockFloats(tpLlamaDims(config, P, B, N, n, m));
  const stack = layerStackBytes(L, Nl, C, { checkpoint: m.checkpoint, bf16: m.bf16Activations }, 4 * blk.acts, { big: blk.big, small: blk.small });
  const Rv = tileRows(m.logitsTile, Nl, V);
  // lnf, dlnf [Nl, C]; (lnfMean,) lnfRstd, losses [Nl]; logits, dlogits [Nl, V] -- or the tiled head.
  const head = Rv > 0 ? tiledHeadBytes(Nl, C, V, Rv, gpt) : 4 * (2 * Nl * C + (gpt ? 3 : 2) * Nl + 2 * Nl * V);
  const pos = gpt ? 0 : 4 * B * N; // Llama's gathered positions [Nf]
  return stack + 4 * blk.scratch + head + 4 * Nl * C + pos + 16 * Nl; // + dres; + the batch copy: four Int32 [Nl]
}
