// The sharded-equals-unsharded checks of a Megatron-SP training case, whatever backend ran the
// ranks: loss, every gradient after one step and every parameter after all steps equal the
// one-worker reference; ranks holding the same slices stay bit-identical; the sp group's bytes of
// step 1 equal the per-layer formula times layers and micro-batches, plus the docIds (and Llama's
// positions) all-gather of each forward and the two-float gradient-norm all-gather; with
// activation checkpointing, plus one replayed forward per layer and micro-batch. Rank 0's
// activation bytes equal megatronSpActivationBytes under the case's memory options.
import assert from 'node:assert/strict';
import { commBytes } from '../../src/dist/accounting.js';
import { createModel } from '../../src/nn/create-model.js';
import { PLAIN_MEMORY, type MemoryOptions } from '../../src/nn/memory-options.js';
import { megatronSpActivationBytes, megatronSpStateBytes } from '../../src/parallel/megatron-sp/memory.js';
import { megatronSpLayerBytes } from '../../src/parallel/megatron-sp/volume.js';
import { splitCounts } from '../../src/parallel/ulysses/plan.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { assertClose } from '../helpers.js';
import { referenceRun } from './equivalence.js';
import { caseConfig, type ParallelCase } from './fixtures.js';
import type { TrainRankResult } from './train-worker.js';

/** A Megatron-SP training case, optionally with the memory toolkit (the one-worker reference never uses it). */
export interface MegatronCase extends ParallelCase {
  readonly memory?: MemoryOptions;
}

export function assertMegatronEqualsOneWorker(k: MegatronCase, ranks: readonly TrainRankResult[]): void {
  const ref = referenceRun(k);
  assert.equal(ranks.length, k.sp * k.dp, 'one result per rank');
  const r0 = ranks[0] as TrainRankResult;
  assert.ok(Math.abs(r0.loss1 - ref.loss1) <= 1e-5 * Math.abs(ref.loss1), `loss after one step: ${r0.loss1} vs ${ref.loss1}`);
  for (const r of ranks) assert.deepEqual(r.losses, r0.losses, 'every rank reports the same losses');
  const model = createModel(checkedModelConfig(caseConfig(k, 1, 1, k.B)), { kernels: kernelsFor(k.kernels, 1), seed: 0 });
  const C = model.config.d_model;
  for (const info of model.params.infos) {
    const at = (a: Float32Array, from = 0, to = info.size): Float32Array => a.subarray(info.offset + from, info.offset + to);
    if (!info.name.endsWith('attn.c_attn.bias')) {
      assertClose(at(r0.grads1), at(ref.grads1), 1e-5, `gradient of ${info.name} after one step`);
      assertClose(at(r0.params), at(ref.params), 1e-5, `${info.name} after ${k.steps} AdamW steps`);
      continue;
    }
    // A key bias's exact gradient is zero (softmax ignores a shift): only rounding noise, which AdamW scales up.
    for (const part of [0, 2]) {
      assertClose(at(r0.grads1, part * C, (part + 1) * C), at(ref.grads1, part * C, (part + 1) * C), 1e-5, `gradient of ${info.name} block ${part}`);
      assertClose(at(r0.params, part * C, (part + 1) * C), at(ref.params, part * C, (part + 1) * C), 1e-5, `${info.name} block ${part} after ${k.steps} steps`);
    }
    const kb = at(r0.params, C, 2 * C);
    assert.ok(kb.every((x) => Math.abs(x) < 1e-4), `key bias stays at noise level: max ${Math.max(...kb.map(Math.abs))}`);
  }
  assertClose(r0.losses, ref.losses, 1e-5, 'losses of every step');
  // Grid rank = dp index × sp + sp index, so rank j and rank j mod sp hold the same slices.
  ranks.forEach((r, j) => {
    assert.equal(r.paramsAbsSum, ranks[j % k.sp]?.paramsAbsSum, `rank ${j}: data-parallel replicas of the same slices stay bit-identical`);
  });
  // Rank 0 holds the largest moment shares at ZeRO stage 1; at stage 0 every rank holds the same.
  const states = megatronSpStateBytes(model.config, k.sp, k.zeroStage ?? 0, k.dp);
  assert.deepEqual(r0.memory, states, 'rank 0 model-state bytes equal the formula');
  for (const r of ranks) {
    if ((k.zeroStage ?? 0) === 0) assert.deepEqual(r.memory, states, 'model-state bytes per rank equal the formula');
    else assert.ok(r.memory.optimizer <= states.optimizer && r.memory.optimizer >= states.optimizer - 16, 'moment shares differ by at most one element each');
  }
  assert.equal(r0.activationBytes, megatronSpActivationBytes(model.config, k.B, k.N, k.sp, k.memory ?? PLAIN_MEMORY), 'rank 0 activation bytes');
  if (k.sp > 1) {
    const mc = model.config;
    const v = megatronSpLayerBytes(k.B, k.N, k.sp, mc.d_model, 4, 0);
    // Each forward all-gathers document ids (when masked) and, for Llama's RoPE, positions.
    const gathers = (k.docs ? 1 : 0) + (k.arch === 'llama' ? 1 : 0);
    const doc = gathers * commBytes.allGather(splitCounts(k.N, k.sp).map((n) => k.B * n), 0, 4).sent;
    const norm = commBytes.allGather(new Array<number>(k.sp).fill(2), 0, 4).sent;
    // A checkpointed layer replays its forward's collectives before its backward.
    const replay = k.memory?.checkpoint ? v.forward.sent : 0;
    const want = k.accum * (mc.n_layers * (v.forward.sent + v.backward.sent + replay) + doc) + norm;
    assert.equal(r0.a2aBytes1, want, 'sp-group bytes sent by rank 0 in step 1 (layers x micro-batches x formula + docIds + norm)');
  }
}
