// The tables of `ulysses bench`, as aligned text for the terminal and as Markdown for BENCHMARKS.md:
// one row per strategy × P × N, and the longest sequence per strategy and P.
import type { BenchReport, BenchRow } from './results.js';

const MB = 1e6;

function num(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

function rate(x: number): string {
  return x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}

export const MAIN_HEADER = [
  'mode', 'P', 'N', 'step ms', 'tok/s', 'MB/rank/step', 'of which SP', 'formula MB', 'measured/formula', 'comm %',
  'mem/rank MB', 'peak RSS MB', 'bytes ÷ ulysses', 'SP bytes ÷ ulysses',
] as const;

/** A row's cells, or its first cells and a status that stands in for the rest. */
interface Row {
  cells: string[];
  status?: string;
}

function mainRow(r: BenchRow): Row {
  const head = [r.mode, String(r.P), String(r.N)];
  const m = r.measured;
  if (!m) return { cells: head, status: r.status };
  const f = r.formula;
  return {
    cells: [
      ...head,
      num(m.stepMs, 1),
      rate(m.tokensPerS),
      num(m.bytesPerRank / MB, 3),
      num(m.spBytesPerRank / MB, 3),
      f ? `${num(f.total / MB, 3)}${f.covers === 'sp' ? ' (SP)' : ''}` : 'n/a',
      num(r.measuredOverFormula, 4),
      num(100 * m.commShare, 1),
      num(m.memPerRank / MB, 1),
      m.peakRss === null ? '-' : num(m.peakRss / MB, 0),
      num(r.overUlysses, 2),
      num(r.spOverUlysses, 2),
    ],
  };
}

export const LONGEST_HEADER = ['mode', 'P', 'longest N', 'estimated MB/rank'] as const;

function longestRows(report: BenchReport): Row[] {
  return report.longest.map((l) => {
    const head = [l.mode, String(l.P)];
    if (l.unavailable !== null) return { cells: head, status: l.unavailable.startsWith('not estimated') ? l.unavailable : `not available: ${l.unavailable}` };
    if (l.N === null || l.bytes === null) return { cells: head, status: 'none fits' };
    return { cells: [...head, String(l.N), num(l.bytes / MB, 1)] };
  });
}

/** Columns padded to their widest cell (text columns left, numbers right); a status line does not widen them. */
function aligned(header: readonly string[], rows: Row[], textCols: number): string[] {
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.status !== undefined && i >= r.cells.length ? 0 : (r.cells[i] ?? '').length))));
  const pad = (c: string, i: number): string => (i < textCols ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0));
  const line = (r: Row): string => [...r.cells.map(pad), ...(r.status !== undefined ? [r.status] : [])].join('  ').trimEnd();
  return [line({ cells: [...header] }), ...rows.map(line)];
}

export function formatTables(report: BenchReport): string[] {
  return [
    ...aligned(MAIN_HEADER, report.rows.map(mainRow), 3),
    '',
    `longest sequence per rank within ${(report.memBudgetBytes / 2 ** 20).toFixed(0)} MiB (estimate of ulysses train --dry-run, not run):`,
    ...aligned(LONGEST_HEADER, longestRows(report), 2),
  ];
}

function markdown(header: readonly string[], rows: Row[], textCols: number): string[] {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  const cells = (r: Row): string[] => (r.status === undefined ? r.cells : [...r.cells, r.status, ...Array<string>(header.length - r.cells.length - 1).fill('')]);
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < textCols ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ];
}

export function markdownTables(report: BenchReport): string[] {
  return [
    ...markdown(MAIN_HEADER, report.rows.map(mainRow), 3),
    '',
    `Longest sequence per rank within ${(report.memBudgetBytes / 2 ** 20).toFixed(0)} MiB (estimate of \`ulysses train --dry-run\`, not run):`,
    '',
    ...markdown(LONGEST_HEADER, longestRows(report), 2),
  ];
}
