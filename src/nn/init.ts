// GPT-2 style parameter initialisation, deterministic from a seed: weights ~ normal(0, 0.02),
// residual output projections scaled by 1/sqrt(2 * n_layers), biases 0, norm weights 1.
import type { ParameterStore } from './parameters.js';

/** How one parameter tensor starts out. */
export type InitKind = 'zeros' | 'ones' | 'normal' | 'residual';

export const INIT_STD = 0.02;

/** Seeded standard normal generator: mulberry32 uniforms through Box-Muller. */
export function normalGenerator(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare = 0;
  let hasSpare = false;
  return () => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    // 1 - u keeps the logarithm's argument in (0, 1].
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    hasSpare = true;
    return r * Math.cos(theta);
  };
}

/** Fills every parameter of params in declaration order; kindOf(name) picks its rule. */
export function initParameters(params: ParameterStore, seed: number, nLayers: number, kindOf: (name: string) => InitKind): void {
  const normal = normalGenerator(seed);
  const residualStd = INIT_STD / Math.sqrt(2 * nLayers);
  for (const info of params.infos) {
    const w = params.value(info.name); // [info.size]
    const kind = kindOf(info.name);
    if (kind === 'zeros') w.fill(0);
    else if (kind === 'ones') w.fill(1);
    else {
      const std = kind === 'residual' ? residualStd : INIT_STD;
      for (let i = 0; i < w.length; i++) w[i] = normal() * std;
    }
  }
}
