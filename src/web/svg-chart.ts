// A small SVG line-chart writer for the benchmark write-ups: several series on shared axes,
// linear or log2 x, linear or log10 y, ticks, a legend. Output is a standalone SVG string that
// renders in GitHub's markdown view and any browser, with no script and no external fonts.

export interface Series {
  readonly name: string;
  /** [x, y] points in data units; non-finite y values break the line. */
  readonly points: readonly (readonly [number, number])[];
  readonly color?: string;
  /** Dash pattern (SVG stroke-dasharray), e.g. '6 4'; solid when absent. */
  readonly dash?: string;
  /** Draw a dot at every point (default true when a series has at most 40 points). */
  readonly markers?: boolean;
  readonly width?: number;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly xScale?: 'linear' | 'log2';
  readonly yScale?: 'linear' | 'log10';
  /** Tick label text for an x value (default: a compact number). */
  readonly xFormat?: (x: number) => string;
  readonly yFormat?: (y: number) => string;
  /** Force the y range (data units); the data range otherwise, padded. */
  readonly yMin?: number;
  readonly yMax?: number;
  /** Horizontal reference lines, e.g. a target. */
  readonly hLines?: readonly { readonly y: number; readonly label: string; readonly color?: string }[];
  readonly width?: number;
  readonly height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function compact(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return Number(v.toPrecision(4)).toString();
}

/** About `count` round tick values covering [lo, hi] (1, 2, 5 steps). */
function linearTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

/** Powers of `base` covering [lo, hi] (both > 0), thinned to at most ~10 ticks. */
function powerTicks(lo: number, hi: number, base: number): number[] {
  const a = Math.floor(Math.log(lo) / Math.log(base) + 1e-9);
  const b = Math.ceil(Math.log(hi) / Math.log(base) - 1e-9);
  const every = Math.max(1, Math.ceil((b - a + 1) / 10));
  const out: number[] = [];
  for (let e = a; e <= b; e += every) out.push(base ** e);
  return out;
}

interface Axis {
  readonly lo: number;
  readonly hi: number;
  readonly map: (v: number) => number;
  readonly ticks: number[];
}

function makeAxis(values: number[], scale: 'linear' | 'log', base: number, px0: number, px1: number, min?: number, max?: number): Axis {
  const finite = values.filter((v) => Number.isFinite(v) && (scale === 'linear' || v > 0));
  let lo = min ?? (finite.length ? Math.min(...finite) : 0);
  let hi = max ?? (finite.length ? Math.max(...finite) : 1);
  if (scale === 'linear') {
    if (hi === lo) [lo, hi] = [lo - 1, hi + 1];
    const pad = (hi - lo) * 0.05;
    if (min === undefined) lo -= pad;
    if (max === undefined) hi += pad;
    const ticks = linearTicks(lo, hi, 6).filter((t) => t >= lo && t <= hi);
    return { lo, hi, ticks, map: (v) => px0 + ((v - lo) / (hi - lo)) * (px1 - px0) };
  }
  if (hi === lo) [lo, hi] = [lo / base, hi * base];
  const ticks = powerTicks(lo, hi, base);
  lo = Math.min(lo, ticks[0] ?? lo);
  hi = Math.max(hi, ticks[ticks.length - 1] ?? hi);
  const l0 = Math.log(lo);
  const l1 = Math.log(hi);
  return { lo, hi, ticks, map: (v) => px0 + ((Math.log(v) - l0) / (l1 - l0)) * (px1 - px0) };
}

/** Renders the chart as an SVG document. */
export function lineChartSvg(spec: ChartSpec): string {
  const W = spec.width ?? 760;
  const H = spec.height ?? 420;
  const left = 72;
  const right = W - 180; // the legend sits right of the plot
  const top = 40;
  const bottom = H - 56;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...spec.series.flatMap((s) => s.points.map((p) => p[1])), ...(spec.hLines ?? []).map((h) => h.y)];
  const x = makeAxis(xs, spec.xScale === 'log2' ? 'log' : 'linear', 2, left, right);
  const y = makeAxis(ys, spec.yScale === 'log10' ? 'log' : 'linear', 10, bottom, top, spec.yMin, spec.yMax);
  const fx = spec.xFormat ?? compact;
  const fy = spec.yFormat ?? compact;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${(left + right) / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(spec.title)}</text>`);
  for (const t of x.ticks) {
    const px = x.map(t).toFixed(1);
    out.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${bottom}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${px}" y="${bottom + 16}" text-anchor="middle">${esc(fx(t))}</text>`);
  }
  for (const t of y.ticks) {
    const py = y.map(t).toFixed(1);
    out.push(`<line x1="${left}" y1="${py}" x2="${right}" y2="${py}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${(Number(py) + 4).toFixed(1)}" text-anchor="end">${esc(fy(t))}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${(left + right) / 2}" y="${H - 14}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  for (const h of spec.hLines ?? []) {
    const py = y.map(h.y).toFixed(1);
    const c = h.color ?? '#888';
    out.push(`<line x1="${left}" y1="${py}" x2="${right}" y2="${py}" stroke="${c}" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${right - 4}" y="${(Number(py) - 4).toFixed(1)}" text-anchor="end" fill="${c}">${esc(h.label)}</text>`);
  }
  spec.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length] ?? '#000';
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    // A non-finite value (or a non-positive one on a log axis) ends one polyline and starts the next.
    const runs: string[][] = [[]];
    for (const [px, py] of s.points) {
      const ok = Number.isFinite(py) && (spec.yScale !== 'log10' || py > 0);
      if (!ok) runs.push([]);
      else runs[runs.length - 1]?.push(`${x.map(px).toFixed(1)},${y.map(py).toFixed(1)}`);
    }
    for (const r of runs.filter((r) => r.length > 0 && (s.width ?? 2) > 0)) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="${s.width ?? 2}"${dash} points="${r.join(' ')}"/>`);
    }
    if (s.markers ?? s.points.length <= 40) {
      for (const pt of runs.flat()) {
        const [cx, cy] = pt.split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
      }
    }
    const ly = top + 10 + i * 20;
    if ((s.width ?? 2) > 0) out.push(`<line x1="${right + 12}" y1="${ly}" x2="${right + 40}" y2="${ly}" stroke="${color}" stroke-width="${s.width ?? 2}"${dash}/>`);
    else out.push(`<circle cx="${right + 26}" cy="${ly}" r="3" fill="${color}"/>`);
    out.push(`<text x="${right + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
