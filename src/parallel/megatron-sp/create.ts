// Everything a training run needs for Megatron-SP on one rank: the tensor-parallel GPT or Llama over the
// sp group and the engine of its model states over tp × dp (ZeRO stage 0 or 1), plus the layout checkpoints use.
import type { AttentionCore } from '../../attention/attention-core.js';
import type { Communicator } from '../../dist/communicator.js';
import type { Group } from '../../dist/group.js';
import type { Kernels } from '../../kernels/kernels.js';
import type { ModelAttentionMask } from '../../nn/attention-mask.js';
import type { CausalLM } from '../../nn/causal-lm.js';
import type { MemoryOptions } from '../../nn/memory-options.js';
import { createModel } from '../../nn/create-model.js';
import type { ModelConfig } from '../../nn/model-config.js';
import type { ParameterInfo } from '../../nn/parameters.js';
import { GroupOps } from '../zero/group-ops.js';
import type { AdamWHyper } from '../zero/shard-adamw.js';
import { checkMegatronSp } from './sizes.js';
import { TpGpt } from './tp-gpt.js';
import { TpLlama } from './tp-llama.js';
import { TpReplicatedState } from './tp-state.js';
import { TpZero1State } from './tp-zero1.js';
import type { ModelStateEngine } from '../zero/engine.js';

export interface MegatronSpOptions {
  comm: Communicator;
  /** sp: the tp group; dp: replicas of the same slices; zero: dp × sp. */
  groups: { sp: Group; dp: Group; zero: Group };
  seqLen: number;
  kernels: Kernels;
  seed: number;
  hyper: AdamWHyper;
  zeroStage: number;
  attention?: AttentionCore;
  mask?: ModelAttentionMask;
  /** Activation checkpointing, MLP / logits tiling and bf16 saved activations (default: none). */
  memory?: MemoryOptions;
}

export interface MegatronSpTraining {
  model: TpGpt | TpLlama;
  /** The Trainer's modelState: the engine and the whole model's layout its checkpoints use. */
  modelState: { engine: ModelStateEngine; infos: readonly ParameterInfo[] };
  /** Parameters of the whole model (a rank holds fewer). */
  fullNumel: number;
  /** Loads whole-model weights: `load` fills a one-worker model of this config, whose slices this rank keeps. */
  initFrom(load: (full: CausalLM) => void): void;
}

export function createMegatronSpTraining(config: ModelConfig, o: MegatronSpOptions): MegatronSpTraining {
  const P = o.groups.sp.ranks.length;
  checkMegatronSp(P, config, o.seqLen, o.zeroStage);
  const mo = {
    comm: o.comm, group: o.groups.sp, seqLen: o.seqLen, kernels: o.kernels, seed: o.seed,
    ...(o.attention ? { attention: o.attention } : {}), ...(o.mask ? { mask: o.mask } : {}),
    ...(o.memory ? { memory: o.memory } : {}),
  };
  const model = config.arch === 'gpt' ? new TpGpt(config, mo) : new TpLlama(config, mo);
  const ops = { tp: new GroupOps(o.comm, o.groups.sp), dp: new GroupOps(o.comm, o.groups.dp), zero: new GroupOps(o.comm, o.groups.zero) };
  // Stage 1 splits the AdamW moments (replicated parameters' over dp × tp, slices' over dp).
  const engine = o.zeroStage === 1
    ? new TpZero1State(o.kernels, o.comm, o.groups, model.params, model.layout, o.hyper, ops)
    : new TpReplicatedState(o.kernels, model.params, model.layout, o.hyper, ops);
  return {
    model,
    modelState: { engine, infos: model.layout.fullInfos },
    fullNumel: model.layout.fullNumel,
    initFrom(load: (full: CausalLM) => void): void {
      const full = createModel(config, { kernels: o.kernels, seed: o.seed });
      load(full);
      model.loadFullParams(full.params.data);
    },
  };
}
