// Megatron-SP checkpoints hold the whole model: the slices gathered from the tp ranks, written in
// the one-worker layout under Hugging Face names, load into a one-worker model unchanged, and a run
// resumed from one (each rank taking its slices of parameters and AdamW moments back) continues
// exactly as the run that never stopped. GPT at P = 2, Llama at P = 2 with dp = 2, and Llama at
// P = 2 with dp = 2 under ZeRO stage 1 (moments gathered from their shares and sliced back).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { ParallelCase } from './fixtures.js';
import type { CheckpointCase, CheckpointRankResult } from './megatron-checkpoint-worker.js';

const entry = new URL('./megatron-checkpoint-worker.js', import.meta.url);
const root = mkdtempSync(join(tmpdir(), 'ulysses-megatron-ckpt-'));
after(() => rmSync(root, { recursive: true, force: true }));

const base: Omit<ParallelCase, 'label' | 'N' | 'sp'> = {
  arch: 'gpt', dModel: 24, heads: 12, kvHeads: 12, B: 2, dp: 1, accum: 1, docs: true, kernels: 'native', steps: 4,
};
const cases: ParallelCase[] = [
  { ...base, label: 'GPT P=2 N=13', N: 13, sp: 2 },
  { ...base, label: 'Llama H=8 Hkv=4 P=2 x dp=2', arch: 'llama', dModel: 32, heads: 8, kvHeads: 4, N: 12, sp: 2, dp: 2 },
  { ...base, label: 'Llama H=8 Hkv=4 P=2 x dp=2, ZeRO-1', arch: 'llama', dModel: 32, heads: 8, kvHeads: 4, N: 12, sp: 2, dp: 2, zeroStage: 1 },
];

for (const k of cases) {
  test(`Megatron-SP checkpoint: save whole, load one-worker, resume exactly: ${k.label}`, { timeout: 60_000 }, async () => {
    const ck: CheckpointCase = { ...k, dir: mkdtempSync(join(root, 'run-')) };
    const ranks = await launchThreads<CheckpointRankResult>(k.sp * k.dp, entry, ck);
    const r0 = ranks[0] as CheckpointRankResult;
    assert.deepEqual(r0.resumed, r0.straight, 'losses of steps 1-4: resumed after step 2 vs straight through');
    assert.ok(r0.atSave.length > 0, 'rank 0 gathered the whole parameters');
    assert.deepEqual(r0.saved, r0.atSave, 'a one-worker model loads the gathered parameters from model.safetensors');
    assert.deepEqual(r0.resumedParams, r0.straightParams, 'parameters after step 4');
  });
}
