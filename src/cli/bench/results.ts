// The rows of `ulysses bench`: each cell's measurement beside its formula, and the ratios the
// table shows (measured / formula, and bytes per rank over Ulysses' at the same P and N).
import type { SequenceParallelMode } from '../../train/config.js';
import type { FormulaBytes } from './formula.js';
import type { LongestSeq } from './longest.js';
import type { Measured } from './runner.js';

export interface BenchRow {
  mode: SequenceParallelMode;
  P: number;
  N: number;
  /** "ok", or why there is no measurement ("not available: ..." / "failed: ..."). */
  status: string;
  measured: Measured | null;
  formula: FormulaBytes | null;
  /** Measured / formula bytes per rank (the part the formula covers); null without both or with no traffic. */
  measuredOverFormula: number | null;
  /** Bytes per rank per step over Ulysses' at the same P and N: every collective, and the strategy's own part. */
  overUlysses: number | null;
  spOverUlysses: number | null;
}

export interface BenchReport {
  command: string;
  date: string;
  /** Cores, and the 1-minute load average before the first cell and after the last (other work on the machine shows here). */
  machine: { cpus: number; loadavgStart: number; loadavgEnd: number };
  model: string;
  batch: number;
  layers: number;
  steps: number;
  memBudgetBytes: number;
  rows: BenchRow[];
  longest: LongestSeq[];
}

export function measuredOverFormula(m: Measured | null, f: FormulaBytes | null): number | null {
  if (!m || !f) return null;
  const got = f.covers === 'step' ? m.bytesPerRank : m.spBytesPerRank;
  if (f.total === 0) return got === 0 ? null : Infinity;
  return got / f.total;
}

/** Fills overUlysses / spOverUlysses from the Ulysses row of the same P and N. */
export function compareWithUlysses(rows: BenchRow[]): void {
  for (const r of rows) {
    const u = rows.find((x) => x.mode === 'ulysses' && x.P === r.P && x.N === r.N)?.measured;
    const m = r.measured;
    r.overUlysses = m && u && u.bytesPerRank > 0 ? m.bytesPerRank / u.bytesPerRank : null;
    r.spOverUlysses = m && u && u.spBytesPerRank > 0 ? m.spBytesPerRank / u.spBytesPerRank : null;
  }
}

/** The cells where N and P grow together (N/P equal to the smallest N over the smallest P), by P. */
export function scaledCells(rows: readonly BenchRow[], mode: SequenceParallelMode): BenchRow[] {
  const Ps = [...new Set(rows.map((r) => r.P))].sort((a, b) => a - b);
  const Ns = [...new Set(rows.map((r) => r.N))].sort((a, b) => a - b);
  const p0 = Ps[0];
  const n0 = Ns[0];
  if (p0 === undefined || n0 === undefined) return [];
  return rows.filter((r) => r.mode === mode && r.N * p0 === n0 * r.P).sort((a, b) => a.P - b.P);
}
