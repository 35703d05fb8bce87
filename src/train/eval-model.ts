// A checkpoint's model for evaluation at lengths beyond its training window. Llama encodes
// positions with RoPE, computed from the position itself, so its weights run at any length and
// only the max_seq_len bound is raised; a GPT's learned position table ends at max_seq_len.
import type { Kernels } from '../kernels/kernels.js';
import type { CausalLM } from '../nn/causal-lm.js';
import { loadCheckpoint, restoreModel } from './checkpoint.js';
import type { UlyssesConfig } from './config.js';
import { ConfigError } from './errors.js';
import { buildModel } from './run.js';

export interface EvalModel {
  model: CausalLM;
  /** The context length the checkpoint trained at (data.seq_len). */
  trainedSeqLen: number;
  config: UlyssesConfig;
}

/** Loads a checkpoint's model able to run `maxLength` tokens. */
export function loadEvalModel(dir: string, kernels: Kernels, maxLength: number): EvalModel {
  const ckpt = loadCheckpoint(dir);
  const config = structuredClone(ckpt.state.config);
  if (maxLength > config.model.max_seq_len) {
    if (config.model.type !== 'llama') {
      throw new ConfigError(
        `the checkpoint is a ${config.model.type} with learned positions up to max_seq_len ${config.model.max_seq_len}; ` +
          `it cannot run ${maxLength} tokens (use lengths <= ${config.model.max_seq_len}, or a llama model, whose RoPE positions run at any length)`,
      );
    }
    config.model.max_seq_len = maxLength;
  }
  const model = buildModel(config, kernels);
  restoreModel(ckpt, model);
  return { model, trainedSeqLen: ckpt.state.config.data.seq_len, config };
}
