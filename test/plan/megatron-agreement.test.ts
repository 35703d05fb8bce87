// The planner's Megatron-SP bytes per layer against a real training step of the engine's
// Megatron-SP (threads backend, fp32): what rank 0 sent on the sp (tensor-parallel) group equals
// layers x (forward + backward) of the planner's per-layer figure, plus the engine's two small
// extras, which the test names: the norm's all-gather of two fp32 per rank, and for Llama the
// all-gather of the int32 positions RoPE needs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { sequenceLayerBytes } from '../../src/plan/sequence-volume.js';
import { checkedModelConfig } from '../../src/train/run.js';
import { caseConfig, type ParallelCase } from '../parallel/fixtures.js';
import type { MegatronBytes } from './megatron-bytes-worker.js';

const entry = new URL('./megatron-bytes-worker.js', import.meta.url);
const base = { arch: 'gpt', dModel: 32, heads: 4, kvHeads: 4, B: 1, accum: 1, docs: false, kernels: 'native', steps: 1, zeroStage: 0 } as const;

const cases: Record<number, ParallelCase[]> = {
  4: [
    { ...base, label: 'gpt sp4', N: 16, sp: 4, dp: 1 },
    { ...base, label: 'gpt sp2 dp2 B2', N: 16, sp: 2, dp: 2, B: 2 },
    { ...base, label: 'llama sp4 N18', arch: 'llama', heads: 8, kvHeads: 4, N: 18, sp: 4, dp: 1 },
  ],
};

test('Megatron-SP sends what the planner predicts per layer, on 4 ranks', { timeout: 120_000 }, async () => {
  const results = await launchThreads<MegatronBytes[]>(4, entry, cases[4]);
  (cases[4] as ParallelCase[]).forEach((k, i) => {
    const mc = checkedModelConfig(caseConfig(k, k.sp, k.dp, k.B));
    const layer = sequenceLayerBytes(mc, k.B, k.N, { strategy: 'megatron-sp', sp: k.sp, dp: k.dp, ulysses: 1, ring: 1 }, 4);
    const norm = (k.sp - 1) * 2 * 4;
    // Rank 0 holds ceil(N / P) tokens of each of its B rows and sends them to the P - 1 others.
    const positions = k.arch === 'llama' ? (k.sp - 1) * k.B * Math.ceil(k.N / k.sp) * 4 : 0;
    const want = mc.n_layers * (layer.collective.forward + layer.collective.backward) + norm + positions;
    const r0 = (results[0] as MegatronBytes[])[i] as MegatronBytes;
    assert.equal(r0.sentByGroup.sp, want, `${k.label}: bytes rank 0 sent on the sp group`);
  });
});
