// What a planning request holds once its presets and overrides are resolved.
import type { ModelConfig } from '../nn/model-config.js';
import type { ZeroStage } from '../parallel/zero/engine.js';
import type { EfficiencyModel } from './compute.js';
import type { GpuSpec, NetworkSpec } from './presets.js';

/** auto: the cheapest of none, tiling, checkpointing, both that fits; on: checkpointing always. */
export type CheckpointingMode = 'auto' | 'on';

export interface PlanRequest {
  readonly modelName: string;
  readonly model: ModelConfig;
  /** Tokens per sequence. */
  readonly seq: number;
  readonly gpus: number;
  readonly gpusPerNode: number;
  readonly gpu: GpuSpec;
  readonly network: NetworkSpec;
  readonly zero: ZeroStage;
  readonly checkpointing: CheckpointingMode;
  /** Sequences per data-parallel replica per step. */
  readonly microBatch: number;
  readonly efficiency: EfficiencyModel;
  /** Share of device memory kept free for the CUDA context, allocator fragmentation and NCCL buffers. */
  readonly memoryReserve: number;
}
