// `ulysses bench`: trains a few steps of every sequence-parallel strategy over a grid of N and P on
// this machine, through the same training path as `ulysses train`, and prints, as a table, JSON
// and SVG charts: step time, tokens/s, bytes per rank per step against each strategy's formula,
// communication share, memory per rank, and the longest sequence a memory budget allows.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { buildConfig, modelConfigOf, worldSizeOf } from '../train/config.js';
import { benchCases } from './bench/cases.js';
import { benchCharts } from './bench/charts.js';
import { stepFormula } from './bench/formula.js';
import { longestSequence } from './bench/longest.js';
import { ALL_MODES, MODEL_PRESETS, parseBenchFlags, type BenchOptions, type RawBenchFlags } from './bench/options.js';
import { compareWithUlysses, measuredOverFormula, type BenchReport, type BenchRow } from './bench/results.js';
import { runCase, type RunOutcome } from './bench/runner.js';
import { formatTables, markdownTables } from './bench/table.js';
import { runCommand } from './cli-errors.js';

/** Longest one cell may train before it is reported as failed. */
const CASE_TIMEOUT_S = 600;

/** The files a bench writes into its --out folder. */
export const BENCH_FILES = {
  json: 'strategies.json',
  markdown: 'strategies.md',
  stepTime: 'strategies-step-time.svg',
  bytesVsP: 'strategies-bytes-vs-p.svg',
  longest: 'strategies-longest-seq.svg',
} as const;

export async function runBench(o: BenchOptions, command: string, print: (line: string) => void): Promise<BenchReport> {
  const loadavgStart = loadavg()[0] ?? 0;
  const cases = benchCases(o, 'unused');
  // The model as the bench trains it (every cell shares it), also when no cell can run.
  const base = cases.find((c) => c.config)?.config ?? buildConfig(o.modelLayers);
  const mc = modelConfigOf(base);
  const rows: BenchRow[] = [];
  const said = new Set<string>();
  for (const c of cases) {
    const label = `${c.mode} P=${c.P} N=${c.N}`;
    if (!c.config) {
      const status = `not available: ${c.unavailable ?? ''}`;
      // A strategy the config refuses in every cell for one reason says so once.
      const whole = cases.every((x) => x.mode !== c.mode || (!x.config && x.unavailable === c.unavailable));
      if (!whole) print(`${label}: ${status}`);
      else if (!said.has(c.mode)) print(`${c.mode}: ${status}`);
      said.add(c.mode);
      rows.push({ mode: c.mode, P: c.P, N: c.N, status, measured: null, formula: null, measuredOverFormula: null, overUlysses: null, spOverUlysses: null });
      continue;
    }
    const formula = stepFormula(c.mode, c.config);
    // One rank trains the same way whatever the strategy, so a P = 1 cell reuses the first one's run.
    const single = worldSizeOf(c.config) === 1 ? rows.find((r) => r.P === 1 && r.N === c.N && r.measured) : undefined;
    const out: RunOutcome = single?.measured ? { ok: true, measured: single.measured } : runCase(c, CASE_TIMEOUT_S);
    const measured = out.ok ? out.measured : null;
    const ratio = measuredOverFormula(measured, formula);
    print(out.ok
      ? `${label}: ${out.measured.stepMs.toFixed(1)} ms/step, ${(out.measured.bytesPerRank / 1e6).toFixed(3)} MB/rank/step` +
        `${ratio === null ? '' : ` (measured/formula ${ratio.toFixed(4)})`}${single ? ` (one rank: the ${single.mode} P=1 run)` : ''}`
      : `${label}: ${out.error}`);
    rows.push({ mode: c.mode, P: c.P, N: c.N, status: out.ok ? 'ok' : out.error, measured, formula, measuredOverFormula: ratio, overUlysses: null, spOverUlysses: null });
  }
  compareWithUlysses(rows);
  const longest = o.modes.flatMap((mode) => o.sps.map((P) => longestSequence(o, mode, P)));
  return {
    command, date: new Date().toISOString(), machine: { cpus: cpus().length, loadavgStart, loadavgEnd: loadavg()[0] ?? 0 },
    model: MODEL_PRESETS[o.model] ? `${o.model} ${mc.arch} d_model ${mc.d_model}` : o.model,
    batch: base.train_micro_batch_size_per_gpu, layers: mc.n_layers, steps: o.steps, memBudgetBytes: o.memBudgetBytes, rows, longest,
  };
}

/** When and where: other work on the machine shows in the load average, and it slows every cell. */
export function machineLine(r: BenchReport): string {
  const m = r.machine;
  return `Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${m.cpus} cores; 1-minute load average ${m.loadavgStart.toFixed(2)} at the start, ` +
    `${m.loadavgEnd.toFixed(2)} at the end. Times are medians of ${r.steps} step(s) after a warm-up step; bytes are exact.`;
}

/** Writes the JSON, the Markdown tables and the three charts into outDir; returns their paths. */
export function writeBenchOutputs(report: BenchReport, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const charts = benchCharts(report);
  const files: [string, string][] = [
    [BENCH_FILES.json, `${JSON.stringify(report, null, 2)}\n`],
    [BENCH_FILES.markdown, `${[`\`${report.command}\``, '', machineLine(report), '', ...markdownTables(report)].join('\n')}\n`],
    [BENCH_FILES.stepTime, charts.stepTime],
    [BENCH_FILES.bytesVsP, charts.bytesVsP],
    [BENCH_FILES.longest, charts.longest],
  ];
  return files.map(([name, text]) => {
    const path = join(outDir, name);
    writeFileSync(path, text);
    return path;
  });
}

export function addBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('compare sequence-parallel strategies on this machine: step time, bytes per rank against the formulas, memory, longest sequence')
    .option('--modes <list>', `strategies, comma-separated (${ALL_MODES.join(', ')})`, ALL_MODES.join(','))
    .option('--seq <list>', 'sequence lengths N, comma-separated', '1024,2048,4096')
    .option('--sp <list>', 'sequence-parallel degrees P, comma-separated', '1,2,4')
    .option('--steps <n>', 'measured steps per cell, after one warm-up step', '3')
    .option('--model <preset|file>', `a preset (${Object.keys(MODEL_PRESETS).join(', ')}: GPT d_model 256, 4 layers, 8 heads, batch 1) or a ulysses config file`, 'reference')
    .option('--mem-budget <size>', 'memory per rank for the longest-sequence column, e.g. 1GiB, 512MB', '1GiB')
    .option('--out <dir>', 'folder for strategies.json, strategies.md and the strategies-*.svg charts', 'bench-results')
    .option('--report <strategies.json>', 'train nothing: print the tables of a saved run and rewrite its Markdown and charts beside it')
    .addHelpText('after', '\nEach cell trains steps + 1 steps (worker-thread ranks, no validation, no kept run folder) in its own process;\n' +
      'P = 1 is one rank, the same run for every strategy, so it runs once.\n' +
      'A strategy the config does not accept yet is listed as "not available: <reason>".')
    .action((flags: RawBenchFlags & { report?: string }) =>
      runCommand(async () => {
        if (flags.report !== undefined) {
          // Tables and charts again from a saved run, e.g. after a change to how they are drawn.
          const report = JSON.parse(readFileSync(flags.report, 'utf8')) as BenchReport;
          for (const line of [...formatTables(report), '', machineLine(report)]) console.log(line);
          console.log(`\nwrote ${writeBenchOutputs(report, dirname(flags.report)).join(', ')}`);
          return;
        }
        const o = parseBenchFlags(flags);
        const command = `ulysses bench --modes ${o.modes.join(',')} --seq ${o.seqs.join(',')} --sp ${o.sps.join(',')} --steps ${o.steps} ` +
          `--model ${o.model} --mem-budget ${flags.memBudget} --out ${o.outDir}`;
        const report = await runBench(o, command, (l) => console.log(l));
        console.log('');
        for (const line of formatTables(report)) console.log(line);
        console.log(`\n${machineLine(report)}`);
        const paths = writeBenchOutputs(report, o.outDir);
        console.log(`\nwrote ${paths.join(', ')}`);
      }),
    );
}
