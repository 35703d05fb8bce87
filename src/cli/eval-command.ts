// `ulysses eval`: exact-match accuracy of a checkpoint on a generated long-range task, by sequence
// length and depth; printed as a grid, and optionally written as JSON and as an SVG heatmap (next
// to the grids of earlier evals, for comparing models).
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { ConfigError } from '../train/errors.js';
import { evalChartSvg, type ChartPanel } from '../train/eval-chart.js';
import { loadEvalModel } from '../train/eval-model.js';
import { checkEvalOptions, evaluateTask, formatEvalGrid, type EvalGrid } from '../train/eval-task.js';
import { kernelsFor } from '../train/run.js';
import { taskByName } from '../train/tasks/registry.js';
import { runCommand } from './cli-errors.js';

interface EvalFlags {
  checkpoint: string;
  task: string;
  lengths: string;
  depths: string;
  samples: string;
  seed: string;
  json?: string | boolean;
  chart?: string;
  compare?: string[];
  label?: string;
  chartMetric?: string;
  kernels: string;
  threads?: string;
}

/** What `--json` writes: the grid, the model it measured, and how to read it. */
export interface EvalReport extends EvalGrid {
  label: string;
  checkpoint: string;
  trained_seq_len: number;
  metric: string;
}

/** A comma-separated list of numbers; `integer` refuses fractions. */
export function parseNumberList(flag: string, text: string, integer: boolean): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const out = parts.map((p) => Number(p));
  out.forEach((v, i) => {
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      throw new ConfigError(`${flag}: ${JSON.stringify(parts[i])} is not ${integer ? 'an integer' : 'a number'}; give a comma-separated list like ${integer ? '1024,2048' : '0,0.5,1'}`);
    }
  });
  return out;
}

function nonNegativeInt(flag: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 0) throw new ConfigError(`${flag} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return v;
}

function readReport(path: string): EvalReport {
  let r: unknown;
  try {
    r = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err: unknown) {
    throw new ConfigError(`--compare ${path}: ${err instanceof Error ? err.message : String(err)}; give a file that \`ulysses eval --json\` wrote`);
  }
  const rep = r as Partial<EvalReport>;
  if (!Array.isArray(rep.lengths) || !Array.isArray(rep.depths) || !Array.isArray(rep.accuracy) || !Array.isArray(rep.byte_accuracy)) {
    throw new ConfigError(`--compare ${path} holds no accuracy grid; give a file that \`ulysses eval --json\` wrote`);
  }
  return rep as EvalReport;
}

function chartMetric(f: Pick<EvalFlags, 'chartMetric'>): 'exact' | 'bytes' {
  const metric = f.chartMetric ?? 'exact';
  if (metric !== 'exact' && metric !== 'bytes') throw new ConfigError(`--chart-metric must be "exact" or "bytes", got ${JSON.stringify(metric)}`);
  return metric;
}

function writeChart(path: string, reports: readonly EvalReport[], taskName: string, metric: 'exact' | 'bytes'): void {
  const panels: ChartPanel[] = reports.map((r) => ({ label: r.label, grid: r, trainedSeqLen: r.trained_seq_len ?? null }));
  const what = metric === 'exact' ? 'exact-match accuracy' : 'share of answer bytes right';
  writeFileSync(path, evalChartSvg(panels, `${taskName}: ${what} by sequence length and depth`, metric));
}

/** `ulysses eval` without --checkpoint: redraws earlier `--json` results (--compare) as one --chart. */
export function chartEvalReports(f: Omit<EvalFlags, 'checkpoint'>): void {
  if (!f.chart || !f.compare || f.compare.length === 0) {
    throw new ConfigError('--checkpoint is required, unless --chart redraws earlier results given with --compare');
  }
  writeChart(f.chart, f.compare.map(readReport), taskByName(f.task).name, chartMetric(f));
}

export function runEval(f: EvalFlags, print: (line: string) => void): EvalReport {
  const task = taskByName(f.task);
  const lengths = parseNumberList('--lengths', f.lengths, true);
  const depths = parseNumberList('--depths', f.depths, false);
  const samples = nonNegativeInt('--samples', f.samples);
  const seed = nonNegativeInt('--seed', f.seed);
  if (f.kernels !== 'native' && f.kernels !== 'reference') throw new ConfigError(`--kernels must be "native" or "reference", got ${JSON.stringify(f.kernels)}`);
  // Refused before the checkpoint loads; the length bound is the model's, checked once it is built.
  checkEvalOptions(task, { lengths, depths, samples, seed }, Number.MAX_SAFE_INTEGER);
  const compare = (f.compare ?? []).map(readReport);
  const metric = chartMetric(f);
  const kernels = kernelsFor(f.kernels, f.threads === undefined ? availableParallelism() : nonNegativeInt('--threads', f.threads));
  const { model, trainedSeqLen } = loadEvalModel(f.checkpoint, kernels, Math.max(...lengths, 1));
  const quiet = f.json === true;
  if (!quiet) print(`task ${task.name}: ${samples} samples per cell, exact match of all answer bytes (teacher-forced argmax = greedy decoding); trained at ${trainedSeqLen} tokens`);
  const grid = evaluateTask(model, task, {
    lengths, depths, samples, seed,
    onCell: (c) => {
      if (!quiet) print(`  length ${c.length} depth ${c.depth.toFixed(2)}: ${c.correct}/${c.samples} (answer bytes ${(c.byteAccuracy * 100).toFixed(0)}%)`);
    },
  });
  const report: EvalReport = {
    label: f.label ?? `${f.checkpoint} (trained at ${trainedSeqLen})`,
    checkpoint: f.checkpoint,
    trained_seq_len: trainedSeqLen,
    metric: 'exact match of every answer byte; accuracy[d][l] is depths[d] x lengths[l]',
    ...grid,
  };
  if (quiet) print(JSON.stringify(report, null, 2));
  else print(`exact match:\n${formatEvalGrid(grid)}\nanswer bytes right:\n${formatEvalGrid(grid, 'bytes')}`);
  if (typeof f.json === 'string') writeFileSync(f.json, `${JSON.stringify(report, null, 2)}\n`);
  if (f.chart) writeChart(f.chart, [...compare, report], task.name, metric);
  return report;
}

export function addEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('accuracy of a checkpoint on a generated long-range task (passkey, recall, copy) by sequence length and depth')
    .option('--checkpoint <dir>', 'checkpoint folder, e.g. runs/<name>/checkpoint (leave out to redraw --compare results as --chart)')
    .option('--task <name>', 'passkey, recall or copy', 'passkey')
    .option('--lengths <list>', 'comma-separated sequence lengths in tokens (a llama model runs beyond its training length)', '1024,2048,4096,8192')
    .option('--depths <list>', 'comma-separated depths in [0, 1] of the hidden item (0 = start, 1 = just before the question)', '0,0.25,0.5,0.75,1')
    .option('--samples <n>', 'samples per (length, depth) cell', '20')
    .option('--seed <n>', 'seed of the evaluation samples', '1')
    .option('--json [file]', 'write the grid as JSON to file (no file: print JSON instead of the grid)')
    .option('--chart <svg>', 'write the grid as an SVG heatmap')
    .option('--compare <json...>', 'earlier `--json` results drawn beside this one in --chart')
    .option('--label <text>', 'name of this model in the JSON and the chart')
    .option('--chart-metric <m>', '"exact" (every answer byte right) or "bytes" (share of answer bytes right) in --chart', 'exact')
    .option('--kernels <kind>', '"native" or "reference"', 'native')
    .option('--threads <n>', 'kernel and BLAS threads (default: all cores)')
    .action((f: Partial<EvalFlags> & Omit<EvalFlags, 'checkpoint'>) =>
      runCommand(() => {
        if (f.checkpoint === undefined) chartEvalReports(f);
        else runEval({ ...f, checkpoint: f.checkpoint }, (line) => console.log(line));
      }));
}
