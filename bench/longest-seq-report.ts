// The longest-sequence benchmark's write-up: docs/bench/longest-seq.md (tables) and its charts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg, type Series } from '../src/web/svg-chart.js';
import type { FitSection, LongestSeqResult } from './longest-seq.js';
import { fitLimit, fitLine, type LineFit } from './longest-seq-fit.js';

const GIB24 = 24 * 2 ** 30;

const CHART_NAMES: Readonly<Record<string, string>> = {
  a: '(a) P=1 plain', b: '(b) P=1 toolkit', c: '(c) P=4 ZeRO-3 toolkit',
  'ulysses-z3-toolkit': 'Ulysses ZeRO-3 toolkit', 'ulysses-plain': 'Ulysses plain', megatron: 'Megatron-SP',
  'ring-z3-toolkit': 'Ring ZeRO-3 toolkit', 'hybrid-z3-toolkit': 'Hybrid 2x2 ZeRO-3 toolkit',
};

/** The line through every real step of a setup, held-out ones included. */
function allStepsFit(f: FitSection): LineFit | null {
  const pts = f.steps.flatMap((o) => (o.ok ? [[o.r.x, o.r.perRank] as const] : []));
  return pts.length >= 2 ? fitLine(pts) : null;
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
const kN = (n: number): string => (n % 1024 === 0 ? `${n / 1024}K` : String(n));
const pct = (r: number): string => `${(100 * r).toFixed(2)}%`;

function fitTables(r: LongestSeqResult): string[] {
  const lines: string[] = [];
  for (const f of r.fits) {
    lines.push(`### ${f.label}`, '');
    lines.push('| N | N/P | role | process peak MiB | per rank MiB (peak / P) | fit MiB | residual | rank 0 tracked MiB | accounting MiB | step s | child s |');
    lines.push('|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const o of f.steps) {
      const N = o.ok ? o.r.N : o.N;
      const role = f.confirmNs.includes(N) ? 'confirm (held out)' : 'fit';
      if (!o.ok) {
        lines.push(`| ${kN(o.N)} | ${kN(o.N / f.P)} | ${role} | failed: ${o.error} | | | | | | | ${o.wallS.toFixed(0)} |`);
        continue;
      }
      const s = o.r;
      const fit = f.fit ? f.fit.a + f.fit.b * s.x : NaN;
      lines.push(
        `| ${kN(s.N)} | ${kN(s.x)} | ${role} | ${mib(s.processPeak)} | ${mib(s.perRank)} | ${f.fit ? mib(fit) : '-'} | ${f.fit ? pct((s.perRank - fit) / s.perRank) : '-'} | ` +
          `${mib(s.tracked)} | ${mib(s.accounting)} | ${s.stepS.toFixed(1)} | ${s.wallS.toFixed(1)} |`,
      );
    }
    if (f.fit) {
      lines.push('', `Fit over the ${f.fitNs.length} fit steps: per rank = **${mib(f.fit.a)} MiB + ${(f.fit.b / 1024).toFixed(2)} KiB × N/P**, ` +
        `max |residual| ${pct(f.fit.maxRelResidual)}.`);
    }
    const all = allStepsFit(f);
    if (all && f.confirms.length > 0) {
      lines.push(`Fit over every step above (held-out ones included): **${mib(all.a)} MiB + ${(all.b / 1024).toFixed(2)} KiB × N/P**, max |residual| ${pct(all.maxRelResidual)}.`);
    }
    for (const c of f.confirms) {
      lines.push(`Held-out step at N = ${kN(c.N)}: measured ${mib(c.measured)} MiB per rank, the fit predicted ${mib(c.predicted)} MiB ` +
        `(error ${pct(c.rel)}); the step took ${c.stepS.toFixed(0)} s (${c.wallS.toFixed(0)} s with process start).`);
    }
    lines.push('');
  }
  return lines;
}

function limitTable(r: LongestSeqResult): string[] {
  const lines = [
    '| configuration | longest real step (measured) | its per-rank peak MiB | its step s | 24 GiB per rank: fit (extrapolated) | 24 GiB per rank: fit over every step (extrapolated) | 24 GiB per rank: accounting alone | fit ÷ longest real step |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const f of r.fits) {
    const ok = f.steps.flatMap((o) => (o.ok ? [o.r] : []));
    const longest = ok.reduce<(typeof ok)[number] | null>((m, s) => (m === null || s.N > m.N ? s : m), null);
    const fitN = f.limit24.fitN;
    const all = allStepsFit(f);
    const allN = all ? fitLimit(all, f.P, GIB24) : null;
    lines.push(
      `| ${f.label} | ${longest ? kN(longest.N) : '-'} | ${longest ? mib(longest.perRank) : '-'} | ${longest ? longest.stepS.toFixed(0) : '-'} | ` +
        `${fitN !== null ? `${fitN.toLocaleString('en-US')} (${(fitN / 1024).toFixed(0)}K)` : '-'} | ` +
        `${allN !== null ? `${allN.toLocaleString('en-US')} (${(allN / 1024).toFixed(0)}K)` : '-'} | ` +
        `${f.limit24.accountingN.toLocaleString('en-US')} (${(f.limit24.accountingN / 1024).toFixed(0)}K) | ` +
        `${fitN !== null && longest ? `${(fitN / longest.N).toFixed(1)}x` : '-'} |`,
    );
  }
  return lines;
}

function budgetTable(r: LongestSeqResult): string[] {
  const b = r.budget;
  if (!b) return [];
  const megRow = b.rows.find((x) => x.key === 'megatron');
  const meg = megRow?.N ?? null;
  const megR = megRow?.refinedN ?? null;
  const lines = [
    `Budget: **${mib(b.bytes)} MiB per rank**, P = 4, threads backend (per rank = process peak / 4).`, '',
    '| strategy | accounting alone N | --max-seq fit (MiB + KiB × N) | --max-seq longest N (confirmed) | ÷ Megatron-SP | refined longest N (confirmed) | its per-rank peak MiB | ÷ Megatron-SP | real steps in order (N: MiB per rank) | wall s |',
    '|---|---:|---|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const x of b.rows) {
    const last = x.steps.find((s) => s.N === x.refinedN && s.measured <= b.bytes);
    const steps = x.steps.map((s) => `${s.N}: ${mib(s.measured)}`).join(', ');
    lines.push(
      `| ${x.label} | ${x.accountingN ?? '-'} | ${x.fitA !== null && x.fitB !== null ? `${mib(x.fitA)} + ${(x.fitB / 1024).toFixed(2)}` : '-'} | ` +
        `${x.N !== null ? x.N.toLocaleString('en-US') : `not found: ${x.error ?? ''}`} | ${x.N !== null && meg ? `${(x.N / meg).toFixed(2)}x` : '-'} | ` +
        `${x.refinedN !== null ? x.refinedN.toLocaleString('en-US') : '-'} | ${last ? mib(last.measured) : '-'} | ` +
        `${x.refinedN !== null && megR ? `${(x.refinedN / megR).toFixed(2)}x` : '-'} | ${steps} | ${x.wallS.toFixed(0)} |`,
    );
  }
  return lines;
}

function charts(r: LongestSeqResult, dir: string): string[] {
  const files: string[] = [];
  const colors = ['#1f77b4', '#d62728', '#2ca02c'];
  const series: Series[] = [];
  r.fits.forEach((f, i) => {
    const pts = f.steps.flatMap((o) => (o.ok ? [[o.r.x, o.r.perRank / 2 ** 20] as const] : []));
    series.push({ name: CHART_NAMES[f.key] ?? f.key, points: pts, color: colors[i % 3] as string });
    if (f.fit && pts.length > 0) {
      const fit = f.fit;
      const xs = pts.map(([x]) => x);
      series.push({ name: `${f.key}: fit`, points: [Math.min(...xs), Math.max(...xs)].map((x) => [x, (fit.a + fit.b * x) / 2 ** 20] as const), color: colors[i % 3] as string, dash: '6 4', markers: false });
    }
  });
  if (series.length > 0) {
    writeFileSync(join(dir, 'longest-seq-memory.svg'), lineChartSvg({
      title: 'Peak memory per rank against tokens per rank (real steps; dashed: least-squares fit)',
      xLabel: 'tokens per rank N/P', yLabel: 'MiB per rank', series, xScale: 'log2', yScale: 'log10', xFormat: kN,
    }));
    files.push('longest-seq-memory.svg');
  }
  const b = r.budget;
  if (b && b.rows.length > 0) {
    const bs: Series[] = b.rows.map((x) => ({
      name: CHART_NAMES[x.key] ?? x.key,
      points: [...x.steps].sort((p, q) => p.N - q.N).map((s) => [s.N, s.measured / 2 ** 20] as const),
    }));
    writeFileSync(join(dir, 'longest-seq-budget.svg'), lineChartSvg({
      title: `Real --max-seq steps at P = 4 under ${mib(b.bytes)} MiB per rank`,
      xLabel: 'sequence length N', yLabel: 'MiB per rank (process peak / 4)', series: bs, xScale: 'log2', xFormat: kN,
      hLines: [{ y: b.bytes / 2 ** 20, label: 'budget' }],
    }));
    files.push('longest-seq-budget.svg');
  }
  return files;
}

/** Writes longest-seq.md and the charts into dir; returns the markdown's path. */
export function writeLongestSeqReport(r: LongestSeqResult, dir: string): string {
  const files = charts(r, dir);
  const m = r.machine;
  const lines = [
    '# Longest trainable sequence of the reference model', '',
    `Generated ${r.date.slice(0, 16).replace('T', ' ')} UTC by \`${r.command}\` in ${(r.wallS / 60).toFixed(1)} min. ` +
      `Machine: ${m.model}, ${m.cpus} cores, ${m.memGiB.toFixed(1)} GiB RAM; Node ${m.node}; load average ${m.loadStart.toFixed(1)} at start, ${m.loadEnd.toFixed(1)} at end ` +
      '(times are contended and only indicative; memory figures are not affected).', '',
    'Reference GPT (d_model 256, 4 layers, 8 heads, vocab 256, MLP 4x, batch 1, AdamW, `max_seq_len` = N, so the position table grows with N). ' +
      'Every row is one real training step (forward, backward, AdamW) in its own child process on the threads backend. ' +
      'Per rank = the process peak RSS (metrics `mem_peak`, all P worker-thread ranks and the main thread) divided by P.', '',
    '## Peak memory per rank against N/P', '', ...fitTables(r),
    '## Longest sequence within 24 GiB per rank', '', ...limitTable(r), '',
  ];
  if (r.bf16Check) {
    const c = r.bf16Check;
    lines.push(`bf16 saved activations, (b) at N = ${kN(c.N)}: ${c.withBf16 !== null ? mib(c.withBf16) : '-'} MiB with, ${c.withoutBf16 !== null ? mib(c.withoutBf16) : '-'} MiB without.`, '');
  }
  if (r.budget) lines.push('## Equal small budget per rank, P = 4 (`ulysses train --max-seq`)', '', ...budgetTable(r), '');
  for (const f of files) lines.push(`![${f}](${f})`, '');
  const path = join(dir, 'longest-seq.md');
  writeFileSync(path, lines.join('\n'));
  return path;
}
