// The longest sequence one rank's memory budget allows, per strategy and P: a binary search over N
// (multiples of 2P, which every strategy's layout accepts) on the per-rank memory estimate of
// `ulysses train --dry-run` (src/train/dry-run.ts: model states under the ZeRO stage plus the
// model's activation buffers for the rank's tokens). An estimate, not a run.
import { buildConfig, type SequenceParallelMode } from '../../train/config.js';
import { planMemory } from '../../train/dry-run.js';
import { UserError } from '../../train/errors.js';
import { caseLayers } from './cases.js';
import type { BenchOptions } from './options.js';

export interface LongestSeq {
  mode: SequenceParallelMode;
  P: number;
  /** Longest N whose estimate fits the budget, or null when not even the shortest does or the mode cannot run. */
  N: number | null;
  /** Estimated bytes per rank at that N. */
  bytes: number | null;
  unavailable: string | null;
}

/** Longest sequences the search considers (the sampler needs the corpus to hold one window). */
const MAX_N = 1 << 22;

/** Estimated bytes per rank at N, or the config's refusal. */
function estimate(o: BenchOptions, mode: SequenceParallelMode, P: number, N: number): number | string {
  try {
    return planMemory(buildConfig(caseLayers(o, mode, P, N, 'unused'))).total;
  } catch (err: unknown) {
    if (err instanceof UserError) return err.message;
    throw err;
  }
}

export function longestSequence(o: BenchOptions, mode: SequenceParallelMode, P: number): LongestSeq {
  const unit = 2 * P;
  const first = estimate(o, mode, P, unit);
  if (typeof first === 'string') return { mode, P, N: null, bytes: null, unavailable: first };
  if (first > o.memBudgetBytes) return { mode, P, N: null, bytes: null, unavailable: null };
  // Invariant: lo units fit (with estimate loBytes), hi units do not (or exceed the search range).
  let lo = 1;
  let loBytes = first;
  let hi = Math.floor(MAX_N / unit) + 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const e = estimate(o, mode, P, mid * unit);
    if (typeof e === 'number' && e <= o.memBudgetBytes) {
      lo = mid;
      loBytes = e;
    } else {
      hi = mid;
    }
  }
  return { mode, P, N: lo * unit, bytes: loBytes, unavailable: null };
}
