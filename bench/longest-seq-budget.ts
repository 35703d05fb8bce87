// The paper-style length comparison: every strategy at P = 4 gets the same memory budget per rank
// and `ulysses train --max-seq` (findMaxSeq with its process probe: accounting bound, a line
// through two short real steps, a confirming real step, each a fresh `ulysses train` process)
// finds its longest trainable N.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountingBytes, findMaxSeq, withSeqLen } from '../src/train/max-seq.js';
import { longestUnder } from '../src/train/max-seq.js';
import { processProbe } from '../src/train/max-seq-probe.js';
import { setupConfig, type Setup } from './longest-seq-configs.js';

export interface BudgetRow {
  readonly key: string;
  readonly label: string;
  readonly budget: number;
  /** The longest N the accounting alone allows, the fit through the two short steps, and the confirmed N. */
  readonly accountingN: number | null;
  readonly fitA: number | null;
  readonly fitB: number | null;
  readonly N: number | null;
  /**
   * --max-seq only shrinks from its first guess, so a steep line through two short steps leaves
   * room unused: a line through the two longest steps that fit, and one more real step at its
   * longest N when that is at least 3% longer. The longest N confirmed by either.
   */
  readonly refinedN: number | null;
  /** Every real step: N, measured per rank, accounting, fit prediction (0 = before the fit). */
  readonly steps: readonly { N: number; measured: number; accounting: number; predicted: number }[];
  readonly wallS: number;
  readonly error: string | null;
}

export async function longestInBudget(s: Setup, budget: number, log: (l: string) => void): Promise<BudgetRow> {
  const dir = mkdtempSync(join(tmpdir(), 'ulysses-longest-budget-'));
  const t0 = performance.now();
  const steps: BudgetRow['steps'][number][] = [];
  try {
    const c = setupConfig(s, 1024, dir);
    const probe = processProbe(c);
    const r = await findMaxSeq(c, { budget, probe, log: (l) => log(`  [${s.key}] ${l}`) });
    steps.push(...r.steps.map((x) => ({ N: x.N, measured: x.measured, accounting: x.accounting, predicted: x.predicted })));
    let refinedN = r.N;
    const fits = steps.filter((x) => x.measured <= budget).sort((p, q) => q.N - p.N);
    const [s1, s2] = fits;
    if (s1 && s2 && s1.N > s2.N) {
      const b = (s1.measured - s2.measured) / (s1.N - s2.N);
      const a = s1.measured - b * s1.N;
      const g = 64 * s.P;
      const n = b > 0 ? longestUnder((N) => a + b * N, budget, g) : 0;
      // Not at or past a length that already went over the budget.
      const over = Math.min(...steps.filter((x) => x.measured > budget).map((x) => x.N));
      if (n >= 1.03 * r.N && n < over) {
        const p = await probe(withSeqLen(c, n));
        steps.push({ N: n, measured: p.measured, accounting: accountingBytes(c, n), predicted: a + b * n });
        log(`  [${s.key}] refine: real step at N = ${n}: measured ${(p.measured / 2 ** 20).toFixed(1)} MiB per rank, line through the two longest ${((a + b * n) / 2 ** 20).toFixed(1)} MiB`);
        if (p.measured <= budget) refinedN = n;
      }
    }
    return {
      key: s.key, label: s.label, budget, accountingN: r.accountingN, fitA: r.fit.a, fitB: r.fit.b, N: r.N, refinedN, steps,
      wallS: (performance.now() - t0) / 1000, error: null,
    };
  } catch (err: unknown) {
    const msg = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
    log(`  [${s.key}] failed: ${msg}`);
    return { key: s.key, label: s.label, budget, accountingN: null, fitA: null, fitB: null, N: null, refinedN: null, steps, wallS: (performance.now() - t0) / 1000, error: msg };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
