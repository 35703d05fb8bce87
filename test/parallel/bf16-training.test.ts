// Training with bf16 all-to-alls (bf16.enabled) follows the fp32 loss curve: 30 AdamW steps of a
// small GPT and a GQA Llama on sp = 2 and sp = 4 threads, every step's loss within 0.2% relative
// of the fp32 run's (measured: at most 1.6e-4), and the all-to-all bytes of a step equal to the
// volume formula with 2 bytes per element (the fp32 document-id all-gather aside, half of fp32's).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { Bf16TrainResult } from './bf16-train-worker.js';
import { makeUlyssesPlan } from '../../src/parallel/ulysses/plan.js';
import { ulyssesAttentionBytes } from '../../src/parallel/ulysses/volume.js';
import type { ParallelCase } from './fixtures.js';

const entry = new URL('./bf16-train-worker.js', import.meta.url);

/** Largest relative loss difference allowed at any step: bf16 payloads round to ~3 significant digits. */
const LOSS_TOL = 2e-3;

const base = { B: 2, dp: 1, accum: 1, docs: true, kernels: 'native', steps: 30 } as const;
const cases: ParallelCase[] = [
  { ...base, label: 'GPT H=4 N=32 sp=2', arch: 'gpt', dModel: 32, heads: 4, kvHeads: 4, N: 32, sp: 2 },
  { ...base, label: 'Llama H=4 Hkv=2 N=30 sp=4', arch: 'llama', dModel: 32, heads: 4, kvHeads: 2, N: 30, sp: 4 },
];

for (const k of cases) {
  test(`bf16 all-to-alls keep the fp32 loss curve within ${LOSS_TOL}: ${k.label}`, { timeout: 60_000 }, async () => {
    const fp32 = (await launchThreads<Bf16TrainResult>(k.sp, entry, { k, bf16: false }))[0] as Bf16TrainResult;
    const bf16 = (await launchThreads<Bf16TrainResult>(k.sp, entry, { k, bf16: true }))[0] as Bf16TrainResult;
    assert.equal(bf16.losses.length, k.steps);
    let worst = 0;
    bf16.losses.forEach((l, s) => {
      const ref = fp32.losses[s] as number;
      const rel = Math.abs(l - ref) / Math.abs(ref);
      worst = Math.max(worst, rel);
      assert.ok(rel <= LOSS_TOL, `step ${s + 1}: bf16 loss ${l} vs fp32 ${ref} (relative ${rel})`);
    });
    assert.ok(worst > 0, 'bf16 payloads change the losses at least in the last bits');
    assert.ok((fp32.losses.at(-1) as number) < (fp32.losses[0] as number), 'the run trains: the loss goes down');
    const plan = makeUlyssesPlan(k.sp, k.N, k.heads, k.kvHeads);
    const sent = (bpe: number): number => {
      const v = ulyssesAttentionBytes(plan, 0, k.B, k.dModel / k.heads, k.docs, bpe);
      return 2 * (v.forward.sent + v.backward.sent); // two layers
    };
    assert.equal(fp32.a2aBytes1, sent(4), 'fp32 all-to-all bytes sent by rank 0 in step 1 vs the formula');
    assert.equal(bf16.a2aBytes1, sent(2), 'bf16 all-to-all bytes sent by rank 0 in step 1 vs the formula with bpe = 2');
  });
}
