// Ring-attention and hybrid (Ulysses x ring) training equal one-worker training on the threads
// backend: GPT and Llama, rings of 2, 3 and 4, GQA with fewer kv heads than ranks, a hybrid group
// larger than the head count, B = 2 with ignored targets, dp x ring with gradient accumulation,
// ZeRO-1, and the reference kernels. Loss and every gradient after one step, and the parameters
// after a few AdamW steps, agree within relative L2 1e-5; attention bytes equal the formulas.
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { assertRingEqualsOneWorker } from './ring-equivalence.js';
import type { RingTrainCase } from './ring-train-worker.js';
import type { TrainRankResult } from './train-worker.js';

const entry = new URL('./ring-train-worker.js', import.meta.url);

const base = { B: 2, dp: 1, accum: 1, docs: false, kernels: 'native', steps: 3, mode: 'ring', ringSize: 'auto' } as const;
export const ringCases: RingTrainCase[] = [
  { ...base, label: 'ring GPT H=4 N=16 P=2', arch: 'gpt', dModel: 16, heads: 4, kvHeads: 4, N: 16, sp: 2 },
  { ...base, label: 'ring Llama H=4 Hkv=2 N=18 P=3', arch: 'llama', dModel: 32, heads: 4, kvHeads: 2, N: 18, sp: 3 },
  { ...base, label: 'ring Llama H=2 Hkv=1 N=16 P=4 (more ranks than heads)', arch: 'llama', dModel: 16, heads: 2, kvHeads: 1, N: 16, sp: 4 },
  { ...base, label: 'hybrid 2x2 Llama H=4 Hkv=2 N=16', arch: 'llama', dModel: 32, heads: 4, kvHeads: 2, N: 16, sp: 4, mode: 'hybrid', ringSize: 'auto' },
  { ...base, label: 'hybrid 2x2 Llama H=2 Hkv=1 N=12 (GQA, P > heads)', arch: 'llama', dModel: 16, heads: 2, kvHeads: 1, N: 12, sp: 4, mode: 'hybrid', ringSize: 2 },
  { ...base, label: 'ring dp=2 x sp=2, 2 micro-batches, ZeRO-1', arch: 'gpt', dModel: 16, heads: 2, kvHeads: 2, N: 12, sp: 2, dp: 2, accum: 2, steps: 2, zeroStage: 1 },
  { ...base, label: 'ring GPT H=2 N=8 P=2 reference kernels', arch: 'gpt', dModel: 16, heads: 2, kvHeads: 2, N: 8, sp: 2, kernels: 'reference', steps: 2 },
];

for (const k of ringCases) {
  test(`ring / hybrid training equals one worker: ${k.label}`, { timeout: 60_000 }, async () => {
    assertRingEqualsOneWorker(k, await launchThreads<TrainRankResult>(k.sp * k.dp, entry, k));
  });
}
