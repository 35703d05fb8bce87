// Peak memory per rank against tokens per rank: a least-squares line through real steps, its
// residuals, and the longest sequence a budget allows by the line and by the accounting alone.
import type { UlyssesConfig } from '../src/train/config.js';
import { accountingBytes, longestUnder } from '../src/train/max-seq.js';

export interface LineFit {
  /** Bytes per rank before any token. */
  readonly a: number;
  /** Bytes per rank per token per rank. */
  readonly b: number;
  /** max |measured − fit| / measured over the fitted points. */
  readonly maxRelResidual: number;
  readonly residuals: readonly { readonly x: number; readonly y: number; readonly fit: number; readonly rel: number }[];
}

/** Ordinary least squares y = a + b·x (at least two distinct x). */
export function fitLine(points: readonly (readonly [number, number])[]): LineFit {
  const n = points.length;
  if (n < 2) throw new Error(`fitLine: ${n} point(s); a line needs at least 2`);
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
  }
  if (sxx === 0) throw new Error('fitLine: every point has the same x');
  const b = sxy / sxx;
  const a = my - b * mx;
  const residuals = points.map(([x, y]) => ({ x, y, fit: a + b * x, rel: (y - (a + b * x)) / y }));
  return { a, b, residuals, maxRelResidual: Math.max(...residuals.map((r) => Math.abs(r.rel))) };
}

/** The longest N (a multiple of 64·P) whose fitted per-rank peak a + b·N/P stays within budget. */
export function fitLimit(fit: LineFit, P: number, budget: number): number {
  return longestUnder((N) => fit.a + (fit.b * N) / P, budget, 64 * P);
}

/** The longest N (a multiple of 64·P) the memory accounting alone allows per rank. */
export function accountingLimit(c: UlyssesConfig, P: number, budget: number): number {
  return longestUnder((N) => accountingBytes(c, N), budget, 64 * P);
}
