// The accuracy grids of `ulysses eval` as one SVG: a heatmap per model (rows: depth, columns:
// sequence length, cell colour and label: exact-match accuracy, or the share of answer bytes
// right), side by side, with each model's
// training length marked by a dashed line after the last column it trained at.
import { metricGrid, type EvalGrid, type EvalMetric } from './eval-task.js';

export interface ChartPanel {
  label: string;
  grid: EvalGrid;
  /** Sequence length the model trained at, or null to leave the mark out. */
  trainedSeqLen: number | null;
}

const CELL_W = 64;
const CELL_H = 30;
const LEFT = 56;
const TOP = 56;
const GAP = 40;

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Red (0) through yellow to green (1). */
function colour(acc: number): string {
  const a = Math.max(0, Math.min(1, acc));
  const r = a < 0.5 ? 215 : Math.round(215 - (a - 0.5) * 2 * 165);
  const g = a < 0.5 ? Math.round(60 + a * 2 * 150) : Math.round(210 - (a - 0.5) * 2 * 40);
  return `rgb(${r},${g},70)`;
}

function panelSvg(p: ChartPanel, x0: number, metric: EvalMetric): string {
  const { grid } = p;
  const values = metricGrid(grid, metric);
  const parts: string[] = [];
  parts.push(`<text x="${x0 + LEFT}" y="20" font-size="14" font-weight="bold">${escapeXml(p.label)}</text>`);
  parts.push(`<text x="${x0 + LEFT}" y="${TOP - 22}" font-size="11">sequence length (tokens)</text>`);
  grid.lengths.forEach((len, li) => {
    parts.push(`<text x="${x0 + LEFT + li * CELL_W + CELL_W / 2}" y="${TOP - 6}" font-size="11" text-anchor="middle">${len}</text>`);
  });
  grid.depths.forEach((d, di) => {
    const y = TOP + di * CELL_H;
    parts.push(`<text x="${x0 + LEFT - 6}" y="${y + CELL_H / 2 + 4}" font-size="11" text-anchor="end">${d.toFixed(2)}</text>`);
    grid.lengths.forEach((_, li) => {
      const acc = (values[di] as number[])[li] as number;
      const x = x0 + LEFT + li * CELL_W;
      parts.push(`<rect x="${x}" y="${y}" width="${CELL_W}" height="${CELL_H}" fill="${colour(acc)}" stroke="#fff"/>`);
      parts.push(`<text x="${x + CELL_W / 2}" y="${y + CELL_H / 2 + 4}" font-size="12" text-anchor="middle">${Math.round(acc * 100)}%</text>`);
    });
  });
  const bottom = TOP + grid.depths.length * CELL_H;
  parts.push(`<text x="${x0 + 8}" y="${TOP + (grid.depths.length * CELL_H) / 2}" font-size="11" transform="rotate(-90 ${x0 + 14} ${TOP + (grid.depths.length * CELL_H) / 2})" text-anchor="middle">depth</text>`);
  if (p.trainedSeqLen !== null) {
    const inside = grid.lengths.filter((l) => l <= (p.trainedSeqLen as number)).length;
    if (inside > 0 && inside < grid.lengths.length) {
      const x = x0 + LEFT + inside * CELL_W;
      parts.push(`<line x1="${x}" y1="${TOP - 2}" x2="${x}" y2="${bottom + 2}" stroke="#000" stroke-width="2" stroke-dasharray="5,3"/>`);
    }
    parts.push(`<text x="${x0 + LEFT}" y="${bottom + 18}" font-size="11">trained at ${p.trainedSeqLen} tokens; ${grid.samples} samples per cell</text>`);
  }
  return parts.join('\n');
}

/** One SVG with a heatmap per panel, of exact-match accuracy or of the share of answer bytes right. */
export function evalChartSvg(panels: readonly ChartPanel[], title: string, metric: EvalMetric = 'exact'): string {
  const widths = panels.map((p) => LEFT + p.grid.lengths.length * CELL_W);
  const width = widths.reduce((s, w) => s + w + GAP, 0);
  const height = TOP + Math.max(...panels.map((p) => p.grid.depths.length)) * CELL_H + 60;
  const parts: string[] = [];
  let x = 0;
  panels.forEach((p, i) => {
    parts.push(panelSvg(p, x, metric));
    x += (widths[i] as number) + GAP;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<title>${escapeXml(title)}</title>\n<rect width="100%" height="100%" fill="#fff"/>\n` +
    `<g transform="translate(0, 6)">\n${parts.join('\n')}\n</g>\n` +
    `<text x="${LEFT}" y="${height - 8}" font-size="11" fill="#444">${escapeXml(title)}</text>\n</svg>\n`
  );
}
