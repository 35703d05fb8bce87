// The check the sequence-parallel memory toolkit tests apply on both backends: the ranks of a
// case with checkpointing train exactly like one plain worker (test/parallel/equivalence.ts), and
// a step's attention all-to-alls are the plain step's plus one replayed forward per layer.
import assert from 'node:assert/strict';
import { PLAIN_MEMORY } from '../../src/nn/memory-options.js';
import { makeUlyssesPlan } from '../../src/parallel/ulysses/plan.js';
import { ulyssesAttentionBytes } from '../../src/parallel/ulysses/volume.js';
import { assertEqualsOneWorker } from '../parallel/equivalence.js';
import type { TrainRankResult } from '../parallel/train-worker.js';
import type { MemoryCase } from './memory-sp-worker.js';

const base = { B: 2, dp: 1, accum: 1, docs: true, kernels: 'native', steps: 3, sp: 2 } as const;
const ckpt = { ...PLAIN_MEMORY, checkpoint: true };
const all = { ...PLAIN_MEMORY, checkpoint: true, mlpTile: 5, logitsTile: 3 };

/** P = 2 cases: GPT and Llama (GQA), checkpointing alone and with both tilings, ZeRO stages 0 and 3. */
export const MEMORY_SP_CASES: MemoryCase[] = [
  { ...base, label: 'GPT checkpointing', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, memory: ckpt },
  { ...base, label: 'GPT checkpointing + tiling, ZeRO-3', arch: 'gpt', dModel: 24, heads: 6, kvHeads: 6, N: 13, memory: all, zeroStage: 3 },
  { ...base, label: 'Llama checkpointing + tiling', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 15, memory: all },
  { ...base, label: 'Llama checkpointing, ZeRO-3', arch: 'llama', dModel: 36, heads: 6, kvHeads: 2, N: 15, memory: ckpt, zeroStage: 3 },
];

export function assertMemoryCaseEqualsOneWorker(k: MemoryCase, ranks: readonly TrainRankResult[]): void {
  const plan = makeUlyssesPlan(k.sp, k.N, k.heads, k.kvHeads);
  const v = ulyssesAttentionBytes(plan, 0, k.B, k.dModel / k.heads, k.docs);
  const layers = 2; // caseConfig's model
  const replayed = k.memory.checkpoint ? layers * v.forward.sent : 0;
  const r0 = ranks[0] as TrainRankResult;
  assert.equal(r0.a2aBytes1, layers * (v.forward.sent + v.backward.sent) + replayed,
    'all-to-all bytes of step 1: forward, recomputed forward, backward');
  // The shared check counts one forward per layer; the replayed one is checked above.
  assertEqualsOneWorker(k, ranks.map((r) => ({ ...r, a2aBytes1: r.a2aBytes1 - replayed })));
}
