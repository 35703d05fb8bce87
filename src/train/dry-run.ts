// `ulysses train --dry-run`: the memory one rank is expected to hold under a config, from the
// parameter layout and the activation buffers the model would allocate, before anything is built.
// The same formulas the engines' own accounting is tested against.
import { estimateActivationBytes, modelLayout } from '../nn/create-model.js';
import { megatronSpActivationBytes, megatronSpStateBytes } from '../parallel/megatron-sp/memory.js';
import { splitCounts } from '../parallel/ulysses/plan.js';
import { expectedModelStateMemory } from '../parallel/zero/create.js';
import type { ModelStateMemory, ZeroStage } from '../parallel/zero/engine.js';
import { memoryOptionsOf, worldSizeOf, type UlyssesConfig } from './config.js';
import { mb } from './metrics.js';
import { checkedModelConfig } from './run.js';

export interface MemoryPlan {
  stage: ZeroStage;
  dp: number;
  sp: number;
  /** Parameters of the whole model. */
  numel: number;
  /** Tokens of one micro-batch on the rank that holds the most (B × its sequence slice). */
  tokensPerRank: number;
  /** Bytes on that rank. */
  states: ModelStateMemory;
  activations: number;
  total: number;
}

export function planMemory(c: UlyssesConfig): MemoryPlan {
  const mc = checkedModelConfig(c);
  const layout = modelLayout(mc);
  const world = worldSizeOf(c);
  const stage = c.zero_optimization.stage;
  const megatron = c.sequence_parallel.mode === 'megatron';
  const sp = c.sequence_parallel_size;
  const B = c.train_micro_batch_size_per_gpu;
  // Megatron-SP ranks hold weight slices, and whole-sequence activations in the tensor-parallel region.
  const states = megatron ? megatronSpStateBytes(mc, sp, stage, c.data_parallel_size) : expectedModelStateMemory(stage, layout, world);
  const tokensPerRank = B * (splitCounts(c.data.seq_len, sp)[0] as number);
  const activations = megatron
    ? megatronSpActivationBytes(mc, B, c.data.seq_len, sp, memoryOptionsOf(c))
    : estimateActivationBytes(mc, tokensPerRank, memoryOptionsOf(c));
  const total = states.params + states.grads + states.optimizer + states.comm + activations;
  return { stage, dp: c.data_parallel_size, sp: c.sequence_parallel_size, numel: layout.numel, tokensPerRank, states, activations, total };
}

export function formatMemoryPlan(p: MemoryPlan): string[] {
  const world = p.dp * p.sp;
  const s = p.states;
  const whole = 16 * p.numel;
  const sharded = p.stage === 0 ? 'nothing sharded' : p.stage === 1 ? 'AdamW moments sharded' : p.stage === 2
    ? 'AdamW moments and reduced gradients sharded' : 'parameters, gradients and AdamW moments sharded';
  return [
    `dry run: ${p.numel} parameters (${mb(whole)} of fp32 parameters, gradients and AdamW moments in all); ` +
      `${world} rank(s) (data_parallel_size ${p.dp} x sequence_parallel_size ${p.sp}), zero_optimization.stage ${p.stage}: ${sharded}`,
    `expected per rank (the one with the most tokens: ${p.tokensPerRank} per micro-batch):`,
    `  params         ${mb(s.params)}`,
    `  grads          ${mb(s.grads)}`,
    `  optimizer      ${mb(s.optimizer)}`,
    `  activations    ${mb(p.activations)} (the model's buffers; the attention core's own are not counted)`,
    `  comm buffers   ${mb(s.comm)}`,
    `  total          ${mb(p.total)}`,
  ];
}
