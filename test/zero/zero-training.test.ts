// ZeRO stages 1, 2 and 3 over the dp × sp group equal stage 0 on one worker: for GPT and Llama tiny
// models at (dp, sp) in {(1, 4), (2, 2), (2, 3)}, with uneven heads, GQA, sequence lengths the ranks
// do not divide, document masks and gradient accumulation, the loss and the reduced gradient after
// one step and the parameters after ten AdamW steps (with clipping) agree within relative L2 1e-5
// (test/parallel/equivalence.ts), and the per-rank model-state bytes the engines report are
// 1/(dp·sp) of the whole up to padding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { createModel, estimateActivationBytes, modelLayout } from '../../src/nn/create-model.js';
import { splitCounts } from '../../src/parallel/ulysses/plan.js';
import { expectedModelStateMemory } from '../../src/parallel/zero/create.js';
import { ShardLayout } from '../../src/parallel/zero/layout.js';
import { checkedModelConfig, kernelsFor } from '../../src/train/run.js';
import { assertEqualsOneWorker, referenceRun, type ReferenceRun } from '../parallel/equivalence.js';
import { caseConfig, type ParallelCase } from '../parallel/fixtures.js';
import type { TrainRankResult } from '../parallel/train-worker.js';

const entry = new URL('./cases-worker.js', import.meta.url);

const models = {
  gpt: { arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13 },
  llama: { arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 14 },
} as const;
const layouts = [{ dp: 1, sp: 4, accum: 1 }, { dp: 2, sp: 2, accum: 2 }, { dp: 2, sp: 3, accum: 1 }] as const;
const stages = [1, 2, 3] as const;

const cases: ParallelCase[] = [];
for (const m of Object.values(models)) {
  for (const l of layouts) {
    for (const zeroStage of stages) {
      cases.push({
        ...m, ...l, zeroStage, B: 2, docs: true, kernels: 'native', steps: 10,
        label: `${m.arch} ZeRO-${zeroStage} dp=${l.dp} x sp=${l.sp}${l.accum > 1 ? `, ${l.accum} micro-batches` : ''}`,
      });
    }
  }
}

/** Stage 0 on one worker, once per model and data-parallel size (the reference does not depend on sp or the stage). */
const references = new Map<string, ReferenceRun>();
function reference(k: ParallelCase): ReferenceRun {
  const key = `${k.arch}/${k.dp}/${k.accum}`;
  let r = references.get(key);
  if (!r) references.set(key, (r = referenceRun(k)));
  return r;
}

/**
 * Asserts the per-rank bytes of the sharded model states (ZeRO-1: AdamW moments; ZeRO-2: also the
 * gradients; ZeRO-3: also the parameters) are the whole model's divided by dp·sp, up to the padding
 * of equal chunks, and that the engines' accounting equals the planning formulas of --dry-run.
 */
function assertShardedMemory(k: ParallelCase, ranks: readonly TrainRankResult[]): void {
  const P = k.dp * k.sp;
  const mc = checkedModelConfig(caseConfig(k, 1, 1, k.B));
  const layout = modelLayout(mc);
  const n = layout.numel;
  const f = 4;
  const stage = k.zeroStage ?? 0;
  // Padding: ZeRO-1 pads the flat vector once; ZeRO-2/3 pad every unit (blocks, embeddings + head).
  const pad = (stage === 1 ? 1 : layout.units.length) * (P - 1);
  for (const [rank, r] of ranks.entries()) {
    const m = r.memory;
    const sharded = stage === 1 ? m.optimizer : stage === 2 ? m.grads + m.optimizer : m.params + m.grads + m.optimizer;
    const perElement = (stage === 1 ? 2 : stage === 2 ? 3 : 4) * f;
    const whole = perElement * n;
    assert.ok(
      P * sharded >= whole && P * sharded - whole <= perElement * pad,
      `rank ${rank}: ZeRO-${stage} holds ${sharded} bytes of sharded model state; the whole is ${whole}, so 1/${P} of it is ` +
        `${whole / P}, with at most ${(perElement * pad) / P} bytes of padding`,
    );
    assert.deepEqual(m, expectedModelStateMemory(stage, layout, P), `rank ${rank}: the engine's accounting equals the planning formula (--dry-run)`);
    const tokens = k.B * (splitCounts(k.N, k.sp)[rank % k.sp] as number);
    assert.equal(r.activationBytes, estimateActivationBytes(mc, tokens), `rank ${rank}: activation bytes of ${tokens} tokens`);
    if (stage === 1) {
      assert.equal(m.params, f * P * Math.ceil(n / P), 'ZeRO-1 keeps every parameter (padded to equal chunks)');
      assert.equal(m.grads, m.params, 'ZeRO-1 keeps the whole gradient');
      continue;
    }
    const units = ShardLayout.units(layout.infos, layout.units, P, rank);
    const maxChunk = Math.max(...units.segments.map((s) => s.chunk));
    assert.equal(m.grads, f * units.shardSize, `ZeRO-${stage} keeps only the gradient shard`);
    if (stage === 2) {
      assert.equal(m.params, f * (n + units.shardSize), 'ZeRO-2 keeps every parameter, and the shard AdamW updates');
      assert.equal(m.comm, f * 2 * (P * maxChunk + maxChunk), 'two gradient buffers of one unit');
    } else {
      assert.equal(m.params, f * units.shardSize, 'ZeRO-3 keeps only the parameter shard');
      assert.equal(m.comm, f * (2 * P * maxChunk + 2 * (P * maxChunk + maxChunk)), 'two gather + two gradient buffers of one unit');
    }
  }
}

for (const world of [4, 6]) {
  const mine = cases.filter((k) => k.dp * k.sp === world);
  test(`ZeRO stages 1-3 equal stage 0 on one worker: ${world} worker threads`, { timeout: 120_000 }, async (t) => {
    const results = await launchThreads<TrainRankResult[]>(world, entry, mine);
    for (const [i, k] of mine.entries()) {
      await t.test(k.label, () => {
        const ranks = results.map((r) => r[i] as TrainRankResult);
        assertEqualsOneWorker(k, ranks, reference(k));
        assertShardedMemory(k, ranks);
      });
    }
  });
}

test('a model built for ZeRO-1 pads its flat buffers to equal chunks; the engine refuses one that is not', () => {
  const k = cases[0] as ParallelCase;
  const mc = checkedModelConfig(caseConfig(k, 1, 1, k.B));
  const model = createModel(mc, { kernels: kernelsFor('native', 1), seed: 1, padParamsTo: 4 });
  assert.equal(model.params.paddedNumel % 4, 0);
  assert.equal(model.params.data.length, model.params.numel);
  assert.ok(model.params.paddedData.subarray(model.params.numel).every((x) => x === 0), 'the padding is zero');
});
