// The parallel layouts the planner considers for a cluster of G GPUs: a sequence-parallel degree
// sp dividing G (dp = G / sp data-parallel replicas) for each strategy, and why a layout is refused.
import { allowedMegatronDegrees } from '../parallel/megatron-sp/sizes.js';
import { checkZigzagSizes, RingConfigError } from '../parallel/ring/zigzag.js';
import { checkUlyssesSizes, UlyssesConfigError } from '../parallel/ulysses/plan.js';
import { checkUspSizes } from '../parallel/usp/degrees.js';
import type { ModelConfig } from '../nn/model-config.js';

export type StrategyName = 'dp-only' | 'ulysses' | 'megatron-sp' | 'ring' | 'hybrid';

export const STRATEGIES: readonly StrategyName[] = ['ulysses', 'megatron-sp', 'ring', 'hybrid', 'dp-only'];

export interface Layout {
  readonly strategy: StrategyName;
  /** Sequence-parallel degree (Megatron-SP: the tensor-parallel degree). */
  readonly sp: number;
  readonly dp: number;
  /** Ulysses degree inside the group (ulysses: sp; hybrid: U; otherwise 1). */
  readonly ulysses: number;
  /** Ring degree (ring: sp; hybrid: R; otherwise 1). */
  readonly ring: number;
}

export interface RefusedLayout {
  readonly layout: Layout;
  readonly reason: string;
}

export function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

export function layoutLabel(l: Layout): string {
  if (l.strategy === 'hybrid') return `hybrid u${l.ulysses}xr${l.ring} dp${l.dp}`;
  if (l.strategy === 'dp-only') return `dp-only dp${l.dp}`;
  return `${l.strategy} sp${l.sp} dp${l.dp}`;
}

/** The message of a size check's refusal, or null when it passes; other errors are bugs and propagate. */
function refusedBy(check: () => void): string | null {
  try {
    check();
    return null;
  } catch (e) {
    if (e instanceof UlyssesConfigError || e instanceof RingConfigError) return e.message;
    throw e;
  }
}

/**
 * Why this layout cannot run sequences of N tokens of model c, or null when it can: the engine's
 * own size checks for Ulysses, ring (zigzag) and hybrid, and its Megatron-SP degrees.
 */
export function refusal(c: ModelConfig, N: number, l: Layout): string | null {
  const H = c.n_heads;
  const Hkv = c.n_kv_heads;
  switch (l.strategy) {
    case 'dp-only':
      return null;
    case 'ulysses':
      return refusedBy(() => checkUlyssesSizes(l.sp, N, H, Hkv));
    case 'megatron-sp': {
      const allowed = allowedMegatronDegrees(c, N);
      if (allowed.includes(l.sp)) return null;
      const bad = [['n_heads', H], ['n_kv_heads', Hkv], ['d_ff', c.d_ff]].filter(([, v]) => (v as number) % l.sp !== 0);
      const what = bad.length > 0 ? `must divide ${bad.map(([k, v]) => `${k} (${v})`).join(' and ')}` : `exceeds the ${N} tokens`;
      return `megatron-sp: tensor-parallel degree ${l.sp} ${what}; allowed degrees: ${allowed.join(', ')}`;
    }
    case 'ring':
      return refusedBy(() => checkZigzagSizes(N, l.ring));
    case 'hybrid':
      return refusedBy(() => checkUspSizes(N, { ulysses: l.ulysses, ring: l.ring }, H, Hkv));
  }
}

/** Every layout of G GPUs: sp over the divisors of G (sp ≥ 2; hybrid U, R ≥ 2), plus dp-only. */
export function allLayouts(G: number, strategies: readonly StrategyName[] = STRATEGIES): Layout[] {
  const out: Layout[] = [];
  for (const s of strategies) {
    if (s === 'dp-only') {
      out.push({ strategy: s, sp: 1, dp: G, ulysses: 1, ring: 1 });
      continue;
    }
    for (const sp of divisors(G).filter((d) => d >= 2)) {
      const dp = G / sp;
      if (s === 'hybrid') {
        for (const U of divisors(sp).filter((u) => u >= 2 && sp / u >= 2)) out.push({ strategy: s, sp, dp, ulysses: U, ring: sp / U });
      } else {
        out.push({ strategy: s, sp, dp, ulysses: s === 'ulysses' ? sp : 1, ring: s === 'ring' ? sp : 1 });
      }
    }
  }
  return out;
}
