// Sequence-parallel training equals one-worker training: for GPT and Llama, P in {2, 3, 4, 8}
// worker threads with odd and uneven head counts, GQA with fewer kv heads than ranks, sequence
// lengths P does not divide, document masks, ignored targets and B = 2, the loss and every
// parameter's gradient after one step agree with one worker on the whole sequences within
// relative L2 1e-5, and so do the parameters after ten AdamW steps (with clipping). dp × sp runs
// equal one worker with dp × B rows. The attention all-to-all bytes of a step equal the formula.
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import { assertEqualsOneWorker } from './equivalence.js';
import type { ParallelCase } from './fixtures.js';
import type { TrainRankResult } from './train-worker.js';

const entry = new URL('./train-worker.js', import.meta.url);

const base = { B: 2, dp: 1, accum: 1, docs: true, kernels: 'native', steps: 10 } as const;
const cases: ParallelCase[] = [
  { ...base, label: 'GPT H=6 N=13 P=2', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 2 },
  { ...base, label: 'GPT H=6 N=13 P=3', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 3 },
  { ...base, label: 'GPT H=6 N=13 P=4 (uneven heads)', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 4 },
  { ...base, label: 'GPT H=8 N=20 P=8', arch: 'gpt', dModel: 32, heads: 8, kvHeads: 8, N: 20, sp: 8, steps: 4 },
  { ...base, label: 'GPT H=3 N=12 P=3 reference kernels', arch: 'gpt', dModel: 24, heads: 3, kvHeads: 3, N: 12, sp: 3, kernels: 'reference', steps: 3 },
  { ...base, label: 'Llama H=6 Hkv=2 N=14 P=2', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 14, sp: 2 },
  { ...base, label: 'Llama H=6 Hkv=2 N=13 P=3 (kv shared by ranks)', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 13, sp: 3 },
  { ...base, label: 'Llama H=6 Hkv=2 N=15 P=4', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 15, sp: 4 },
  { ...base, label: 'Llama H=4 Hkv=2 N=12 P=4', arch: 'llama', dModel: 32, heads: 4, kvHeads: 2, N: 12, sp: 4 },
  { ...base, label: 'Llama H=8 Hkv=2 N=11 P=3 (kv expanded on a rank)', arch: 'llama', dModel: 32, heads: 8, kvHeads: 2, N: 11, sp: 3 },
  { ...base, label: 'GPT dp=2 x sp=2, 2 micro-batches', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, sp: 2, dp: 2, accum: 2, steps: 5 },
  { ...base, label: 'Llama dp=3 x sp=1 without documents', arch: 'llama', dModel: 32, heads: 4, kvHeads: 2, N: 12, sp: 1, dp: 3, docs: false, steps: 5 },
];

for (const k of cases) {
  test(`sequence-parallel training equals one worker: ${k.label}`, { timeout: 60_000 }, async () => {
    assertEqualsOneWorker(k, await launchThreads<TrainRankResult>(k.sp * k.dp, entry, k));
  });
}
