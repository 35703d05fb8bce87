// `ulysses report`: one self-contained HTML file for a finished run. uPlot, the chart code, the
// styles and the run's records and config are all inlined, so the file opens anywhere, offline,
// and can be mailed or archived next to the checkpoint.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../train/errors.js';
import { assetText } from './assets.js';
import { readMetricsFile, type MetricsRecord } from './metrics-file.js';
import { summarize, type RunSummary } from './summary.js';

export interface ReportInput {
  /** Shown as the title; the run folder's name by default. */
  name: string;
  records: MetricsRecord[];
  config: unknown;
  /** Metrics lines that could not be read (reported, not fatal). */
  badLines: number;
}

/** Reads a run folder for a report; refuses a folder without metrics. */
export function readRunForReport(runDir: string): ReportInput {
  const metricsPath = join(runDir, 'metrics.jsonl');
  if (!existsSync(metricsPath)) throw new UserError(`${runDir} has no metrics.jsonl: not a run folder, or the run has not finished a step yet`);
  const { records, bad } = readMetricsFile(metricsPath);
  const configPath = join(runDir, 'config.json');
  let config: unknown = null;
  if (existsSync(configPath)) {
    try {
      config = JSON.parse(readFileSync(configPath, 'utf8')) as unknown;
    } catch {
      throw new UserError(`${configPath} is not valid JSON`);
    }
  }
  return { name: basename(resolve(runDir)), records, config, badLines: bad };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Text that is safe inside a <script> element (it can never close the element early). */
function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

const fixed = (x: number | null, digits: number): string => (x === null ? '–' : x.toFixed(digits));

function summaryRows(s: RunSummary, config: unknown): [string, string][] {
  const c = (config ?? {}) as {
    model?: Record<string, unknown>; data?: Record<string, unknown>;
    sequence_parallel_size?: unknown; data_parallel_size?: unknown; train_micro_batch_size_per_gpu?: unknown;
  };
  const m = c.model ?? {};
  const rows: [string, string][] = [
    ['steps', `${s.steps}${s.plannedSteps !== null ? ` of ${s.plannedSteps}` : ''}`],
    ['model', `${String(m.type ?? '?')}, d_model ${String(m.d_model ?? '?')}, ${String(m.n_layers ?? '?')} layers, ${String(m.n_heads ?? '?')} heads`],
    ['sequence', `${String(c.data?.seq_len ?? '?')} tokens x batch ${String(c.train_micro_batch_size_per_gpu ?? '?')}`],
    ['parallelism', `sequence parallel ${String(c.sequence_parallel_size ?? 1)} x data parallel ${String(c.data_parallel_size ?? 1)}`],
    ['final training loss', fixed(s.finalLoss, 4)],
    ['best training loss', s.bestLoss ? `${s.bestLoss.value.toFixed(4)} (step ${s.bestLoss.step})` : '–'],
    ['final validation loss', fixed(s.finalValLoss, 4)],
    ['best validation loss', s.bestValLoss ? `${s.bestValLoss.value.toFixed(4)} (step ${s.bestValLoss.step})` : '–'],
    ['tokens/s (median)', fixed(s.medianTokensPerS, 0)],
    ['MFU (median)', s.medianMfu === null ? '–' : `${(100 * s.medianMfu).toFixed(1)}%`],
    ['step time (median)', s.medianStepMs === null ? '–' : `${s.medianStepMs.toFixed(1)} ms`],
    ['total step time', `${(s.totalTimeMs / 1000).toFixed(1)} s`],
    ['communication share of step time', s.commFraction === null ? '–' : `${(100 * s.commFraction).toFixed(1)}%`],
    ['bytes sent per step', s.commBytesPerStep === null ? '–' : `${(s.commBytesPerStep / 1e6).toFixed(2)} MB`],
    ['final gradient norm', fixed(s.finalGradNorm, 3)],
    ['peak memory (process RSS)', s.peakMemoryBytes === null ? 'not recorded' : `${(s.peakMemoryBytes / 1e6).toFixed(1)} MB`],
  ];
  return rows;
}

/** The report page as one HTML string. */
export function renderReport(input: ReportInput, generatedAt = new Date()): string {
  const s = summarize(input.records, input.config);
  const rows = summaryRows(s, input.config)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('\n');
  // "<" is escaped inside the JSON, so no string in the data can end the script element.
  const data = JSON.stringify({ records: input.records, config: input.config }).replace(/</g, '\\u003c');
  const note = input.badLines > 0 ? `<p class="muted">${input.badLines} unreadable metrics line(s) were skipped.</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ulysses report">
<title>${escapeHtml(input.name)} – ulysses run report</title>
<style>
${assetText('uPlot.min.css')}
${assetText('dashboard.css')}
body.report { display: block; }
body.report main { max-width: 1400px; margin: 0 auto; }
</style>
</head>
<body class="report">
<main>
<h1>${escapeHtml(input.name)}</h1>
<p class="muted">ulysses run report, generated ${escapeHtml(generatedAt.toISOString())} from ${input.records.length} metrics records.</p>
${note}
<table class="summary" id="summary">
${rows}
</table>
<h2>Charts</h2>
<div id="view" data-points="0"></div>
<h2>Configuration</h2>
<table id="config" class="config"></table>
</main>
<script type="application/json" id="run-data">${data}</script>
<script>${scriptSafe(assetText('uPlot.iife.min.js'))}</script>
<script>${scriptSafe(assetText('charts.js'))}</script>
<script>${scriptSafe(assetText('report-boot.js'))}</script>
</body>
</html>
`;
}

/** Reads a run folder and renders its report. */
export function buildReport(runDir: string): string {
  return renderReport(readRunForReport(runDir));
}
