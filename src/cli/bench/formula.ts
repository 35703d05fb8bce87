// The analytic bytes one rank sends in a training step, per strategy, to set beside the measured
// ones: the strategy's per-layer formula × layers × micro-batches, plus the traffic of the model
// states as the stage-0 engines do it and the trainer's two small sums over the dp × sp group
// (token counts as 2 fp32 digits each, the loss). Ulysses, ring and hybrid replicate every
// parameter, so the whole gradient is all-reduced; Megatron-SP all-reduces only its replicated
// parameters and sums the sharded slices' squared norm over its ranks.
import { commBytes } from '../../dist/accounting.js';
import { evenCounts } from '../../dist/collective-args.js';
import { modelLayout } from '../../nn/create-model.js';
import type { ModelConfig } from '../../nn/model-config.js';
import { ParameterStore } from '../../nn/parameters.js';
import { TpLayout } from '../../parallel/megatron-sp/tp-layout.js';
import { megatronSpLayerBytes } from '../../parallel/megatron-sp/volume.js';
import { hybridAttentionBytes, ringAttentionBytes } from '../../parallel/ring/volume.js';
import { makeUlyssesPlan } from '../../parallel/ulysses/plan.js';
import { ulyssesAttentionBytes } from '../../parallel/ulysses/volume.js';
import { modelConfigOf, ringSizeOf, type SequenceParallelMode, type UlyssesConfig } from '../../train/config.js';

export interface FormulaBytes {
  /** Bytes the strategy's own collectives send per rank per step (all layers, forward and backward). */
  layers: number;
  /** Gradient / model-state and trainer sums, or null where the formula is not known for this setup. */
  states: number | null;
  /** layers + states, or layers alone when states is null (then compare with the sequence-parallel part). */
  total: number;
  /** What `total` covers: "step" (every collective) or "sp" (the strategy's own group only). */
  covers: 'step' | 'sp';
}

const FP32 = 4;

interface Volume {
  forward: { sent: number };
  backward: { sent: number };
}

const sent = (v: Volume): number => v.forward.sent + v.backward.sent;

/** Bytes rank 0 sends per layer (forward + backward) under the strategy. */
export function layerBytes(mode: SequenceParallelMode, c: UlyssesConfig): number {
  const mc = modelConfigOf(c);
  const B = c.train_micro_batch_size_per_gpu;
  const N = c.data.seq_len;
  const P = c.sequence_parallel_size;
  const H = mc.n_heads;
  const Hkv = mc.n_kv_heads;
  const D = mc.d_model / mc.n_heads;
  if (P === 1) return 0;
  if (mode === 'ulysses') {
    // bf16.enabled sends the Ulysses all-to-alls as bf16 (2 bytes); the document ids stay fp32.
    return sent(ulyssesAttentionBytes(makeUlyssesPlan(P, N, H, Hkv), 0, B, D, c.data.pack_documents, c.bf16.enabled ? 2 : FP32));
  }
  if (mode === 'megatron') return sent(megatronSpLayerBytes(B, N, P, mc.d_model, FP32));
  if (mode === 'ring') return sent(ringAttentionBytes(B, N, P, H, Hkv, D, FP32));
  // The ring degree training resolves ("auto" included); Ulysses runs inside each ring member.
  const R = ringSizeOf(c);
  return sent(hybridAttentionBytes(B, N, P / R, R, H, Hkv, D, FP32));
}

/** Megatron-SP: a rank's parameter count and its replicated prefix (norms, embeddings, row-parallel biases). */
function megatronLocal(mc: ModelConfig, P: number): { local: number; replicated: number } {
  const layout = new TpLayout(mc, P);
  const store = new ParameterStore();
  layout.declareLocal(store);
  return { local: store.numel, replicated: layout.replicatedNumel };
}

/** Model-state and trainer-sum bytes rank 0 sends per step at ZeRO stage 0 (null for other stages). */
export function stateBytes(mode: SequenceParallelMode, c: UlyssesConfig): number | null {
  const P = c.sequence_parallel_size;
  const dp = c.data_parallel_size;
  const world = P * dp;
  if (world === 1) return 0;
  if (c.zero_optimization.stage !== 0) return null;
  const mc = modelConfigOf(c);
  const allReduce = (n: number, size: number): number => (size > 1 ? commBytes.allReduce(evenCounts(n, size), 0, FP32).sent : 0);
  // Token counts: two values (targets, tokens) as two fp32 digits each; the loss: one fp32.
  const sums = allReduce(4, world) + allReduce(1, world);
  if (mode !== 'megatron') return allReduce(modelLayout(mc).numel, world) + sums;
  const m = megatronLocal(mc, P);
  // Replicated gradients over dp × P, slices over dp; the slices' squared norm is summed over the P
  // ranks as two fp32 digits per rank (an all-gather).
  const norm = P > 1 ? commBytes.allGather(Array<number>(P).fill(2), 0, FP32).sent : 0;
  return allReduce(m.replicated, world) + allReduce(m.local - m.replicated, dp) + norm + sums;
}

export function stepFormula(mode: SequenceParallelMode, c: UlyssesConfig): FormulaBytes {
  const perLayer = layerBytes(mode, c);
  const layers = perLayer * modelConfigOf(c).n_layers * c.gradient_accumulation_steps;
  const states = stateBytes(mode, c);
  return states === null ? { layers, states, total: layers, covers: 'sp' } : { layers, states, total: layers + states, covers: 'step' };
}
