// Bytes one rank sends in the ZeRO collectives of one optimizer step with one micro-batch, by
// stage, over a group of Z ranks, in the accounting's terms (dist/accounting.ts commBytes). The
// schedule is the engine's (parallel/zero): units are the embeddings with final norm and head
// (unit 0, used at both ends of the model) and one per block.
//   stage 0: all-reduce of the gradient
//   stage 1: all-reduce of the gradient, all-gather of the updated parameters, the norm's all-gather
//   stage 2: a reduce-scatter per unit use in backward (unit 0 twice), all-gather of every unit's
//            updated parameters, the norm's all-gather
//   stage 3: all-gathers before use: forward 0, 1..L, 0; backward L-1..1, 0 (the last two units of
//            the forward are still gathered), i.e. unit 0 three times, blocks 1..L-1 twice, block L
//            once; reduce-scatters as stage 2; the norm's all-gather
import { evenCounts } from '../dist/collective-args.js';
import { commBytes } from '../dist/accounting.js';
import type { ZeroStage } from '../parallel/zero/engine.js';

export interface ZeroStepVolume {
  /** Bytes sent in parameter all-gathers. */
  readonly allGather: number;
  /** Bytes sent in gradient reduce-scatters. */
  readonly reduceScatter: number;
  /** Bytes sent in gradient all-reduces. */
  readonly allReduce: number;
  /** Bytes sent by the gradient-norm all-gather (two fp32 per rank). */
  readonly norm: number;
  readonly total: number;
}

const equal = (c: number, Z: number): number[] => Array.from({ length: Z }, () => c);

/** Bytes rank 0 (the rank with the largest all-reduce chunk) sends in one step, bpe bytes per element. */
export function zeroStepBytes(stage: ZeroStage, units: readonly number[], Z: number, bpe: number): ZeroStepVolume {
  const none = { allGather: 0, reduceScatter: 0, allReduce: 0, norm: 0, total: 0 };
  if (Z <= 1) return none;
  const n = units.reduce((s, u) => s + u, 0);
  const gather = (chunk: number): number => commBytes.allGather(equal(chunk, Z), 0, bpe).sent;
  const scatter = (chunk: number): number => commBytes.reduceScatter(equal(chunk, Z), 0, bpe).sent;
  const norm = stage === 0 ? 0 : commBytes.allGather(equal(2, Z), 0, 4).sent;
  let allGather = 0;
  let reduceScatter = 0;
  let allReduce = 0;
  if (stage <= 1) allReduce = commBytes.allReduce(evenCounts(n, Z), 0, bpe).sent;
  if (stage === 1) allGather = gather(Math.ceil(n / Z));
  if (stage >= 2) {
    const L = units.length - 1;
    units.forEach((u, i) => {
      const c = Math.ceil(u / Z);
      reduceScatter += (i === 0 ? 2 : 1) * scatter(c);
      const gathers = stage === 2 ? 1 : i === 0 ? 3 : i === L ? 1 : 2;
      allGather += gathers * gather(c);
    });
  }
  return { allGather, reduceScatter, allReduce, norm, total: allGather + reduceScatter + allReduce + norm };
}
