// Sequence-parallel training with the memory toolkit equals one plain worker (threads backend):
// with activation checkpointing, alone and with the tiled MLP and logits, on P = 2 worker threads
// under ZeRO stages 0 and 3, the loss and every gradient after one step and the parameters after
// the steps agree with one worker without the toolkit within relative L2 1e-5. Recomputation
// replays each layer's forward all-to-alls in backward, so a step sends one more forward's bytes.
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { TrainRankResult } from '../parallel/train-worker.js';
import { assertMemoryCaseEqualsOneWorker, MEMORY_SP_CASES } from './memory-sp-check.js';

const entry = new URL('./memory-sp-worker.js', import.meta.url);

for (const k of MEMORY_SP_CASES) {
  test(`sp = 2 with the memory toolkit equals one plain worker: ${k.label}`, { timeout: 60_000 }, async () => {
    assertMemoryCaseEqualsOneWorker(k, await launchThreads<TrainRankResult>(k.sp * k.dp, entry, k));
  });
}
