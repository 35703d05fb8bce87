// `ulysses plan`: every layout of every strategy for a request, the best one, and the longest
// sequence each strategy fits (binary search over the sequence length).
import { evaluateLayout, type LayoutEstimate } from './evaluate.js';
import { allLayouts, divisors, refusal, type Layout, type RefusedLayout, type StrategyName } from './layouts.js';
import { sizedForSequence } from './model-source.js';
import { PlanError } from './plan-error.js';
import type { PlanRequest } from './request.js';

export interface PlanFilter {
  readonly strategies?: readonly StrategyName[];
  /** Only this sequence-parallel degree. */
  readonly sp?: number;
  /** Try each of these micro-batch sizes per layout and keep the fastest that fits (else the request's). */
  readonly microBatches?: readonly number[];
}

export interface PlanResult {
  readonly request: PlanRequest;
  readonly estimates: LayoutEstimate[];
  readonly refused: RefusedLayout[];
  /** The fitting layout with the most tokens per second per GPU, or null when none fits. */
  readonly recommended: LayoutEstimate | null;
}

/** Refuses requests no layout could answer: the message names the field and what is allowed. */
export function checkRequest(r: PlanRequest): void {
  const posInt = (v: number, what: string): void => {
    if (!Number.isInteger(v) || v < 1) throw new PlanError(`${what} is ${v}; it must be a positive integer`);
  };
  posInt(r.gpus, '--gpus');
  posInt(r.gpusPerNode, '--gpus-per-node');
  posInt(r.seq, '--seq');
  posInt(r.microBatch, '--micro-batch');
  if (r.gpus > r.gpusPerNode && r.gpus % r.gpusPerNode !== 0) {
    const ok = [1, 2, 3, 4].map((k) => k * r.gpusPerNode);
    throw new PlanError(
      `--gpus ${r.gpus} is not a whole number of nodes of ${r.gpusPerNode} GPUs; use a multiple of ${r.gpusPerNode} ` +
        `(e.g. ${ok.join(', ')}) or set --gpus-per-node / --nodes so that gpus = nodes x gpus-per-node`,
    );
  }
  if (![0, 1, 2, 3].includes(r.zero)) throw new PlanError(`--zero is ${r.zero}; allowed: 0, 1, 2, 3`);
  if (!(r.memoryReserve >= 0 && r.memoryReserve < 1)) throw new PlanError(`--memory-reserve is ${r.memoryReserve}; allowed: 0 <= x < 1`);
  for (const [k, v] of Object.entries(r.efficiency)) {
    if (!(v > 0 && v <= 1)) throw new PlanError(`efficiency ${k} is ${v}; allowed: 0 < x <= 1`);
  }
}

function selected(r: PlanRequest, f: PlanFilter): Layout[] {
  const layouts = allLayouts(r.gpus, f.strategies).filter((l) => f.sp === undefined || l.sp === f.sp);
  if (f.sp !== undefined && layouts.length === 0) {
    throw new PlanError(`--sp ${f.sp} does not divide --gpus ${r.gpus}; allowed: ${divisors(r.gpus).join(', ')}`);
  }
  return layouts;
}

export function plan(request: PlanRequest, f: PlanFilter = {}): PlanResult {
  checkRequest(request);
  const r = { ...request, model: sizedForSequence(request.model, request.seq) };
  const estimates: LayoutEstimate[] = [];
  const refused: RefusedLayout[] = [];
  for (const l of selected(r, f)) {
    const why = refusal(r.model, r.seq, l);
    if (why) refused.push({ layout: l, reason: why });
    else estimates.push(bestMicroBatch(r, l, f.microBatches));
  }
  if (estimates.length === 0 && refused.length > 0 && f.sp !== undefined) {
    throw new PlanError(refused.map((x) => x.reason).join('; '));
  }
  return { request: r, estimates, refused, recommended: best(estimates) };
}

/** The layout at the request's micro-batch, or at the fastest fitting one of `sizes`. */
function bestMicroBatch(r: PlanRequest, l: Layout, sizes: readonly number[] | undefined): LayoutEstimate {
  if (!sizes || sizes.length === 0) return evaluateLayout(r, l);
  const all = sizes.map((b) => evaluateLayout({ ...r, microBatch: b }, l));
  return best(all) ?? (all[0] as LayoutEstimate);
}

function best(xs: readonly LayoutEstimate[]): LayoutEstimate | null {
  let top: LayoutEstimate | null = null;
  for (const e of xs) if (e.fits && (!top || e.tokensPerSecondPerGpu > top.tokensPerSecondPerGpu)) top = e;
  return top;
}

export interface MaxSeqResult {
  readonly strategy: StrategyName;
  /** Longest fitting sequence (a multiple of `step`), 0 when not even `step` tokens fit. */
  readonly seq: number;
  readonly estimate: LayoutEstimate | null;
}

/** The fastest fitting layout of one strategy at seq tokens, or null. */
function fitting(r: PlanRequest, s: StrategyName, seq: number, f: PlanFilter): LayoutEstimate | null {
  return plan({ ...r, seq }, { ...f, strategies: [s] }).recommended;
}

/**
 * Longest sequence each strategy fits, a multiple of `step` tokens (default 1024) up to `limit`:
 * memory grows with the sequence for every layout, so a binary search over multiples finds it.
 */
export function maxSeq(r: PlanRequest, f: PlanFilter = {}, step = 1024, limit = 1 << 26): MaxSeqResult[] {
  checkRequest({ ...r, seq: step });
  const strategies = f.strategies ?? (['ulysses', 'megatron-sp', 'ring', 'hybrid', 'dp-only'] as const);
  return strategies.map((s) => {
    let lo = 0; // multiples of step known to fit (0: none)
    let hi = Math.floor(limit / step) + 1; // first multiple known not to fit
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (fitting(r, s, mid * step, f)) lo = mid;
      else hi = mid;
    }
    return { strategy: s, seq: lo * step, estimate: lo > 0 ? fitting(r, s, lo * step, f) : null };
  });
}
