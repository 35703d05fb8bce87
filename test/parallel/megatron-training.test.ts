// Megatron-SP training equals one-worker training on worker threads: GPT with P in {2, 3, 4}
// (uneven token splits, document masks, ignored targets, B = 2), dp × sp with gradient
// accumulation, and Llama with GQA (kv heads split over the ranks), and GPT with the memory toolkit
// (checkpointing with both tilings) under dp × sp, and ZeRO stage 1 (GPT dp × sp, Llama P = 4): loss and every gradient after one step, and the
// parameters after several AdamW steps with clipping, within relative L2 1e-5; the step's sp-group
// bytes equal the formula.
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { PLAIN_MEMORY } from '../../src/nn/memory-options.js';
import type { ParallelCase } from './fixtures.js';
import { assertMegatronEqualsOneWorker, type MegatronCase } from './megatron-equivalence.js';
import type { TrainRankResult } from './train-worker.js';

const entry = new URL('./megatron-train-worker.js', import.meta.url);

const base: Omit<ParallelCase, 'label' | 'N' | 'sp'> = { arch: 'gpt', dModel: 24, heads: 12, kvHeads: 12, B: 2, dp: 1, accum: 1, docs: true, kernels: 'native', steps: 6 };
const cases: MegatronCase[] = [
  { ...base, label: 'P=2 N=12', N: 12, sp: 2 },
  { ...base, label: 'P=3 N=13 (uneven tokens)', N: 13, sp: 3 },
  { ...base, label: 'P=4 N=14 (uneven tokens), no documents', N: 14, sp: 4, docs: false },
  { ...base, label: 'dp=2 x P=2, 2 micro-batches', N: 13, sp: 2, dp: 2, accum: 2, steps: 4 },
  { ...base, label: 'Llama H=6 Hkv=2 P=2 N=13', arch: 'llama', heads: 6, kvHeads: 2, N: 13, sp: 2 },
  { ...base, label: 'Llama H=8 Hkv=4 P=4 N=14, no documents', arch: 'llama', dModel: 32, heads: 8, kvHeads: 4, N: 14, sp: 4, docs: false },
  {
    ...base, label: 'dp=2 x P=2, 2 micro-batches, checkpointing + tiled MLP and logits', N: 13, sp: 2, dp: 2, accum: 2, steps: 3,
    memory: { ...PLAIN_MEMORY, checkpoint: true, mlpTile: 5, logitsTile: 4 },
  },
  { ...base, label: 'dp=2 x P=2, 2 micro-batches, ZeRO-1', N: 13, sp: 2, dp: 2, accum: 2, steps: 4, zeroStage: 1 },
  { ...base, label: 'Llama H=8 Hkv=4 P=4 N=14, ZeRO-1', arch: 'llama', dModel: 32, heads: 8, kvHeads: 4, N: 14, sp: 4, zeroStage: 1 },
];

for (const k of cases) {
  test(`Megatron-SP training equals one worker: ${k.label}`, { timeout: 60_000 }, async () => {
    assertMegatronEqualsOneWorker(k, await launchThreads<TrainRankResult>(k.sp * k.dp, entry, k));
  });
}
