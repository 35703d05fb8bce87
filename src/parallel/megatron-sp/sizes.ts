// What Megatron-SP can split: the degree P must divide the attention heads (each rank computes
// H/P of them) and the MLP width (F/P columns each), the kv heads too for grouped-query models,
// and every rank needs a token. Tokens may split unevenly; heads and MLP columns may not.
import type { ModelConfig } from '../../nn/model-config.js';

export class MegatronSpConfigError extends RangeError {
  override readonly name = 'MegatronSpConfigError';
}

/** The model architectures a tensor-parallel model exists for. */
export const MEGATRON_SP_ARCHS: readonly ModelConfig['arch'][] = ['gpt', 'llama'];

/** The ZeRO stages Megatron-SP's model states support (its own engines: replicated, and moments sharded). */
export const MEGATRON_SP_ZERO_STAGES: readonly number[] = [0, 1];

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Degrees P that split this model and a sequence of seqLen tokens. */
export function allowedMegatronDegrees(model: Pick<ModelConfig, 'n_heads' | 'n_kv_heads' | 'd_ff'>, seqLen: number): number[] {
  const g = gcd(gcd(model.n_heads, model.n_kv_heads), model.d_ff);
  const out: number[] = [];
  for (let p = 1; p <= Math.min(g, seqLen); p++) if (g % p === 0) out.push(p);
  return out;
}

/** Throws MegatronSpConfigError naming what does not split and the degrees that would. */
export function checkMegatronSp(
  P: number, model: Pick<ModelConfig, 'arch' | 'n_heads' | 'n_kv_heads' | 'd_ff'>, seqLen: number, zeroStage: number,
): void {
  const fail = (msg: string): never => {
    throw new MegatronSpConfigError(msg);
  };
  if (!MEGATRON_SP_ARCHS.includes(model.arch)) {
    fail(`sequence_parallel.mode "megatron" supports model.type ${MEGATRON_SP_ARCHS.map((a) => `"${a}"`).join(', ')}, not "${model.arch}"`);
  }
  if (!MEGATRON_SP_ZERO_STAGES.includes(zeroStage)) {
    fail(
      `sequence_parallel.mode "megatron" supports zero_optimization.stage ${MEGATRON_SP_ZERO_STAGES.join(', ')}, not ${zeroStage}: ` +
        'its model states are tensor-parallel slices plus replicated parameters; sharding their gradients (stage 2) or ' +
        'parameters (stage 3) is not implemented',
    );
  }
  const allowed = `use a sequence_parallel_size in ${JSON.stringify(allowedMegatronDegrees(model, seqLen))}`;
  const must = (what: string, n: number): void => {
    if (n % P !== 0) fail(`sequence_parallel_size (${P}) must divide ${what} (${n}) in sequence_parallel.mode "megatron"; ${allowed}`);
  };
  must('model.n_heads', model.n_heads);
  must('model.n_kv_heads', model.n_kv_heads);
  must('model.d_ff', model.d_ff);
  if (P > seqLen) fail(`sequence_parallel_size (${P}) exceeds data.seq_len (${seqLen}): every rank needs a token; ${allowed}`);
}
