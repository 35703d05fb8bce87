// The planner's formulas against the engine on this machine: one real training step (Ulysses
// attention over sp, ZeRO over dp × sp, threads backend, fp32) per case, and the bytes each group
// moved, the model-state bytes the engine holds and the model's activation bytes, compared exactly
// with what the planner's own functions predict for the same shapes at 4 bytes per element.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commBytes } from '../../src/dist/accounting.js';
import { evenCounts } from '../../src/dist/collective-args.js';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { CPU_ACTIVATIONS, modelActivationBytes } from '../../src/plan/activation-memory.js';
import { modelUnits } from '../../src/plan/model-source.js';
import { sequenceLayerBytes } from '../../src/plan/sequence-volume.js';
import { CPU_STATE_PRECISION, modelStateBytes } from '../../src/plan/state-memory.js';
import { zeroStepBytes } from '../../src/plan/zero-volume.js';
import { checkedModelConfig } from '../../src/train/run.js';
import { caseConfig } from '../parallel/fixtures.js';
import type { StepBytes, StepCase } from './step-bytes-worker.js';

const entry = new URL('./step-bytes-worker.js', import.meta.url);
const base = { arch: 'gpt', dModel: 32, heads: 4, kvHeads: 4, B: 1, accum: 1, docs: false, kernels: 'native', steps: 1 } as const;

/** Cases per world size: every ZeRO stage, GPT and Llama (GQA), uneven sequence splits, dp > 1. */
const cases: Record<number, StepCase[]> = {
  2: [
    { ...base, label: 'gpt sp2 zero3', N: 16, sp: 2, dp: 1, zeroStage: 3 },
    { ...base, label: 'gpt dp2 zero0', N: 16, sp: 1, dp: 2, zeroStage: 0 },
  ],
  3: [{ ...base, label: 'llama sp3 zero2 N=13', arch: 'llama', heads: 6, kvHeads: 3, dModel: 48, N: 13, sp: 3, dp: 1, zeroStage: 2 }],
  4: [
    { ...base, label: 'llama sp4 zero1 gqa', arch: 'llama', heads: 8, kvHeads: 2, N: 16, sp: 4, dp: 1, zeroStage: 1 },
    { ...base, label: 'gpt sp2 dp2 zero3 B2', N: 12, sp: 2, dp: 2, B: 2, zeroStage: 3 },
    { ...base, label: 'llama sp4 zero3 checkpointed+tiled', arch: 'llama', heads: 8, kvHeads: 4, N: 24, sp: 4, dp: 1, zeroStage: 3, memory: { checkpoint: true, tile: 4 } },
  ],
  8: [{ ...base, label: 'gpt sp8 zero3', heads: 8, kvHeads: 8, N: 32, sp: 8, dp: 1, zeroStage: 3 }],
};

for (const P of [2, 3, 4, 8]) {
  test(`planner formulas equal the engine's measured bytes and memory on ${P} ranks`, { timeout: 120_000 }, async () => {
    const results = await launchThreads<StepBytes[]>(P, entry, cases[P]);
    (cases[P] as StepCase[]).forEach((k, i) => {
      const memory = k.memory ?? { checkpoint: false, tile: 0 };
      const mc = checkedModelConfig(caseConfig(k, k.sp, k.dp, k.B));
      const stage = k.zeroStage ?? 0;
      const Z = k.sp * k.dp;
      const r0 = (results[0] as StepBytes[])[i] as StepBytes;
      const layout = { strategy: k.sp > 1 ? 'ulysses' : 'dp-only', sp: k.sp, dp: k.dp, ulysses: k.sp, ring: 1 } as const;
      // Sequence parallelism: every layer's forward and backward all-to-alls (rank 0 holds the most
      // tokens), and the forward's once more when checkpointing recomputes the layer.
      const layer = sequenceLayerBytes(mc, k.B, k.N, layout, 4);
      const sp = mc.n_layers * ((memory.checkpoint ? 2 : 1) * layer.collective.forward + layer.collective.backward);
      assert.equal(r0.sentByGroup.sp ?? 0, sp, `${k.label}: bytes rank 0 sent on the sp group`);
      // ZeRO over dp × sp, plus the trainer's two small all-reduces (token counts as 4 floats, the loss as 1).
      const sync = commBytes.allReduce(evenCounts(4, Z), 0, 4).sent + commBytes.allReduce(evenCounts(1, Z), 0, 4).sent;
      const zero = zeroStepBytes(stage, modelUnits(mc), Z, 4).total + (Z > 1 ? sync : 0);
      assert.equal(r0.sentByGroup.zero ?? 0, zero, `${k.label}: bytes rank 0 sent on the zero group (ZeRO-${stage} over ${Z})`);
      for (const r of results) {
        const mine = r[i] as StepBytes;
        assert.deepEqual(mine.memory, modelStateBytes(stage, modelUnits(mc), Z, CPU_STATE_PRECISION), `${k.label}: rank ${mine.rank} model-state bytes`);
      }
      const tokens = k.B * Math.ceil(k.N / k.sp);
      const options = { checkpointing: memory.checkpoint, tiling: memory.tile > 0, tileTokens: memory.tile };
      const acts = modelActivationBytes(mc, tokens, CPU_ACTIVATIONS, options).total;
      assert.equal(r0.activationBytes, acts, `${k.label}: rank 0 activation bytes for ${tokens} tokens`);
    });
  });
}
