// `npm run bench [-- gemm attention train torch] [--quick] [--threads N] [--no-write] [--force]`
//
// Runs the selected sections (default: all), each measurement in its own child process, prints
// one markdown table per section and, for a full run, rewrites the generated block of
// BENCHMARKS.md and bench/results/latest.json. Partial or --quick runs only print and write
// bench/results/last-run.json, so BENCHMARKS.md always holds one complete side-by-side run
// (a run during which the addon was rebuilt, or that the quality check calls noisy, does not
// count as one unless --force).
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { BenchContext, SectionOutput } from './context.js';
import { qualitySection, renderReport, targetsSection, writeBenchmarksMd, writeResults } from './report.js';
import { attentionSection } from './sections-attention.js';
import { endProbe, gemmSection } from './sections-gemm.js';
import { compareSection, torchSection, trainSection } from './sections-model.js';
import { fmt, machineInfo, nowS, repoRoot } from './util.js';

/** Modification time of the built addon, to notice a rebuild in the middle of a run. */
function addonStamp(): number {
  try {
    return statSync(join(repoRoot, 'build', 'Release', 'ulysses_native.node')).mtimeMs;
  } catch {
    return Number.NaN;
  }
}

const SECTIONS = ['gemm', 'attention', 'train', 'torch'] as const;
type SectionName = (typeof SECTIONS)[number];

interface Args {
  sections: SectionName[];
  quick: boolean;
  threads: number;
  write: boolean;
  /** Write BENCHMARKS.md even when the run-quality check says the machine was busy. */
  force: boolean;
}

function isSection(s: string): s is SectionName {
  return (SECTIONS as readonly string[]).includes(s);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { sections: [], quick: false, threads: 2, write: true, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--quick') args.quick = true;
    else if (a === '--no-write') args.write = false;
    else if (a === '--force') args.force = true;
    else if (a === '--threads') {
      args.threads = Number(argv[++i]);
      if (!Number.isInteger(args.threads) || args.threads < 1) throw new Error('--threads must be a positive integer');
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench -- [gemm] [attention] [train] [torch] [--quick] [--threads N] [--no-write] [--force]\n');
      process.exit(0);
    } else if (isSection(a)) {
      if (!args.sections.includes(a)) args.sections.push(a);
    } else {
      throw new Error(`unknown argument ${a}; expected one of ${SECTIONS.join(', ')}, --quick, --threads N, --no-write, --force`);
    }
  }
  if (args.sections.length === 0) args.sections = [...SECTIONS];
  // Always run in the canonical order so the GEMM peak exists before anything divides by it.
  args.sections.sort((x, y) => SECTIONS.indexOf(x) - SECTIONS.indexOf(y));
  return args;
}

function main(): void {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  const ctx: BenchContext = {
    opts: { quick: args.quick, threads: args.threads },
    peak: null,
    peak1: null,
    openblasCore: null,
    train: new Map(),
    torch: new Map(),
    attentionOfPeak: new Map(),
    mfu: new Map(),
  };
  const load0 = loadavg()[0] ?? Number.NaN;
  const stamp0 = addonStamp();
  const t0 = nowS();
  const outputs: SectionOutput[] = [];
  const run: Record<SectionName, (c: BenchContext) => SectionOutput> = {
    gemm: gemmSection, attention: attentionSection, train: trainSection, torch: torchSection,
  };
  for (const name of args.sections) {
    process.stderr.write(`[bench] ${name} ...\n`);
    const ts = nowS();
    const out = run[name](ctx);
    outputs.push(out);
    process.stdout.write(`\n## ${name} (${fmt(nowS() - ts, 0)} s)\n\n${out.markdown}\n`);
  }
  const endPeak = ctx.peak && args.sections.length > 1 ? endProbe(ctx) : null;
  const quality = qualitySection(ctx, endPeak);
  for (const extra of [compareSection(ctx), targetsSection(ctx), quality]) {
    if (extra === null) continue;
    outputs.push(extra);
    process.stdout.write(`\n## ${extra.name}\n\n${extra.markdown}\n`);
  }
  const totalS = nowS() - t0;
  const machine = machineInfo(ctx.openblasCore ?? 'not reported');
  const date = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const load1 = loadavg()[0] ?? Number.NaN;
  const report = renderReport(outputs, machine, command, date, totalS) +
    `\nLoad average (1 min) at start ${fmt(load0, 2)}, at end ${fmt(load1, 2)}.\n`;
  const rebuilt = addonStamp() !== stamp0;
  if (rebuilt) process.stderr.write('[bench] warning: the native addon was rebuilt during this run; rerun it\n');
  const noisy = quality !== null && (quality.data as { problems: string[] }).problems.length > 0;
  if (noisy && !args.force) process.stderr.write('[bench] noisy run: BENCHMARKS.md left alone (--force writes it anyway)\n');
  const full = !args.quick && args.sections.length === SECTIONS.length && !rebuilt && (!noisy || args.force);
  const payload = { command, date, machine, totalS, loadavg: [load0, load1], peak: ctx.peak, sections: outputs };
  if (!args.write) return;
  if (full) {
    const md = writeBenchmarksMd(report);
    const json = writeResults('latest.json', payload);
    process.stderr.write(`[bench] wrote ${md} and ${json}\n`);
  } else {
    const json = writeResults('last-run.json', payload);
    process.stderr.write(`[bench] partial or quick run: BENCHMARKS.md left alone; wrote ${json}\n`);
  }
}

try {
  main();
} catch (err: unknown) {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
