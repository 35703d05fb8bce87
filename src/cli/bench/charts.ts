// The three charts of `ulysses bench` as SVG documents: step time against N, bytes per rank
// against P with N growing with P, and the longest sequence that fits the budget against P.
import { lineChartSvg, type Series } from '../../web/svg-chart.js';
import type { SequenceParallelMode } from '../../train/config.js';
import { scaledCells, type BenchReport } from './results.js';

export interface BenchCharts {
  stepTime: string;
  bytesVsP: string;
  longest: string;
}

const COLORS: Readonly<Record<SequenceParallelMode, string>> = {
  ulysses: '#1f77b4', megatron: '#d62728', ring: '#2ca02c', hybrid: '#ff7f0e',
};
const DASHES: readonly (string | undefined)[] = [undefined, '6 4', '2 3', '10 3 2 3'];

function modesOf(report: BenchReport): SequenceParallelMode[] {
  return [...new Set(report.rows.map((r) => r.mode))];
}

export function benchCharts(report: BenchReport): BenchCharts {
  const modes = modesOf(report);
  const Ps = [...new Set(report.rows.map((r) => r.P))].sort((a, b) => a - b);
  const time: Series[] = [];
  // One rank trains the same way under every strategy, so P = 1 is one line.
  const single = report.rows.filter((r) => r.P === 1 && r.measured && r.mode === report.rows.find((x) => x.P === 1 && x.measured)?.mode);
  if (single.length > 0) time.push({ name: 'P=1 (one rank)', points: single.map((r) => [r.N, r.measured?.stepMs ?? NaN] as const), color: '#555555' });
  for (const mode of modes) {
    Ps.filter((P) => P > 1).forEach((P, i) => {
      const pts = report.rows.filter((r) => r.mode === mode && r.P === P && r.measured)
        .map((r) => [r.N, r.measured?.stepMs ?? NaN] as const);
      const dash = DASHES[(i + 1) % DASHES.length];
      if (pts.length > 0) time.push({ name: `${mode} P=${P}`, points: pts, color: COLORS[mode], ...(dash ? { dash } : {}) });
    });
  }
  const bytes: Series[] = [];
  for (const mode of modes) {
    const cells = scaledCells(report.rows, mode).filter((r) => r.measured);
    if (cells.length === 0) continue;
    bytes.push({ name: `${mode} all`, points: cells.map((r) => [r.P, (r.measured?.bytesPerRank ?? NaN) / 1e6] as const), color: COLORS[mode] });
    bytes.push({ name: `${mode} SP part`, points: cells.map((r) => [r.P, (r.measured?.spBytesPerRank ?? NaN) / 1e6] as const), color: COLORS[mode], dash: '6 4' });
  }
  const ratio = scaledCells(report.rows, modes[0] ?? 'ulysses')[0];
  const longest: Series[] = modes.map((mode) => ({
    name: mode,
    points: report.longest.filter((l) => l.mode === mode && l.N !== null).map((l) => [l.P, l.N as number] as const),
    color: COLORS[mode],
  })).filter((s) => s.points.length > 0);
  const budget = `${(report.memBudgetBytes / 2 ** 20).toFixed(0)} MiB`;
  return {
    stepTime: lineChartSvg({
      title: `Training step time (${report.model}, ${report.layers} layers, batch ${report.batch})`,
      xLabel: 'sequence length N (tokens)', yLabel: 'median step time (ms)', series: time, xScale: 'log2', yScale: 'log10',
    }),
    bytesVsP: lineChartSvg({
      title: `Bytes sent per rank per step, N and P growing together${ratio ? ` (N = ${ratio.N / ratio.P}·P)` : ''}`,
      xLabel: 'sequence-parallel ranks P', yLabel: 'MB per rank per step', series: bytes, xScale: 'log2', yMin: 0,
    }),
    longest: lineChartSvg({
      title: `Longest sequence within ${budget} per rank (dry-run estimate)`,
      xLabel: 'sequence-parallel ranks P', yLabel: 'tokens', series: longest, xScale: 'log2', yMin: 0,
    }),
  };
}
