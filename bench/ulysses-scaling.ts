// Evidence for Ulysses on the threads backend, in three parts:
//   volume: bytes per rank of one attention layer (forward + backward) for (N, P) growing together,
//           from the communicator's accounting, next to the formula of src/parallel/ulysses/volume.ts;
//   steps:  training-step time and memory per rank of the reference GPT at fixed N for P = 1, 2, 4,
//           one child process per run, rounds interleaved;
//   loss:   `ulysses train --sp 1`, `--sp 4` (and `--sp 2`) with one config on the Brown corpus, curves compared.
//
//   node dist/bench/ulysses-scaling.js [--quick] [volume] [steps] [loss]
//   node dist/bench/ulysses-scaling.js --report-only [--quick]   (rewrite md and charts from the last json)
//
// Writes docs/bench/ulysses-scaling.{json,md} and its charts (sp1-vs-sp4-loss.svg among them).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StepArgs, StepResult, VolumeArgs, VolumeResult } from './ulysses-scaling-rank.js';
import { scalingReport, type LossRun, type ScalingSummary, type StepRun, type VolumeRun } from './ulysses-scaling-report.js';
import { distBenchDir, nowS, repoRoot, runJsonChild } from './util.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const picked = argv.filter((a) => !a.startsWith('--'));
const want = (s: string): boolean => picked.length === 0 || picked.includes(s);
const THREADS = 2;
const outDir = join(repoRoot, 'docs', 'bench');
const suffix = quick ? '-quick' : '';
const jsonPath = join(outDir, `ulysses-scaling${suffix}.json`);

interface ChildOut<R> {
  P: number;
  ranks: R[];
  baselineRssBytes: number;
  peakRssBytes: number;
}

function child<R>(P: number, args: VolumeArgs | StepArgs, timeoutS: number): ChildOut<R> {
  const r = runJsonChild<ChildOut<R>>(process.execPath, [join(distBenchDir, 'ulysses-scaling-child.js'), String(P), JSON.stringify(args)], timeoutS);
  if (!r.json) throw new Error(`ulysses-scaling child P=${P} ${args.mode} N=${args.N} failed: ${r.failure ?? 'no output'}`);
  return r.json;
}

function volumeSection(): VolumeRun[] {
  const K = 1024;
  const cases: [number, number][] = quick ? [[K, 1], [2 * K, 2], [4 * K, 4], [8 * K, 8]] : [[4 * K, 1], [8 * K, 2], [16 * K, 4], [32 * K, 8]];
  return cases.map(([N, P]) => {
    const t0 = nowS();
    const out = child<VolumeResult>(P, { mode: 'volume', N, H: 8, D: 32, threads: THREADS }, 300);
    process.stdout.write(`volume N=${N} P=${P}: ${(nowS() - t0).toFixed(1)} s\n`);
    return { N, P, H: 8, D: 32, ranks: out.ranks };
  });
}

function stepsSection(): StepRun[] {
  const N = quick ? 2048 : 8192;
  const Ps = [1, 2, 4];
  const rounds = quick ? 1 : 2;
  const runs: StepRun[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternating the order between rounds keeps slow drift in the machine's load from favouring one P.
    for (const P of round % 2 === 0 ? Ps : [...Ps].reverse()) {
      const t0 = nowS();
      // Two warm-up steps: the first timed step after a single one still ran slow (allocation, page faults).
      const args: StepArgs = { mode: 'step', N, warmup: quick ? 1 : 2, steps: quick ? 1 : 2, threads: THREADS };
      const out = child<StepResult>(P, args, 400);
      process.stdout.write(`steps N=${N} P=${P} round ${round + 1}/${rounds}: ${(nowS() - t0).toFixed(1)} s\n`);
      runs.push({ N, P, round, ranks: out.ranks, baselineRssBytes: out.baselineRssBytes, peakRssBytes: out.peakRssBytes });
    }
  }
  return runs;
}

interface MetricLine {
  step: number;
  loss: number;
  val_loss?: number;
  tokens_per_s?: number;
}

function lossSection(): LossRun[] {
  const steps = quick ? 20 : 150;
  const dir = mkdtempSync(join(tmpdir(), 'ulysses-sp-loss-'));
  try {
    // SP = 2 is the control: how far any two sharded runs drift apart through fp32 rounding alone.
    return [1, 4, 2].map((sp) => {
      const args = [
        join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'train', '--sp', String(sp), '--steps', String(steps),
        '--seq-len', '1024', '--threads', String(THREADS), '--val-every', String(quick ? 10 : 50),
        '--checkpoint-every', String(steps), '--out-dir', dir, '--name', `sp${sp}`,
      ];
      const t0 = nowS();
      const r = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8', timeout: 600_000 });
      const wallS = nowS() - t0;
      if (r.status !== 0) throw new Error(`ulysses train --sp ${sp} failed (exit ${r.status ?? r.signal}): ${(r.stderr ?? '').slice(-500)}`);
      process.stdout.write(`loss run --sp ${sp}: ${wallS.toFixed(1)} s\n`);
      const lines = readFileSync(join(dir, `sp${sp}`, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricLine);
      return {
        sp, wallS, command: `node dist/src/cli/main.js ${args.slice(1).join(' ').replace(dir, '<tmp>')}`,
        steps: lines.map((l) => l.step), loss: lines.map((l) => l.loss),
        valLoss: lines.filter((l) => l.val_loss !== undefined).map((l): [number, number] => [l.step, l.val_loss as number]),
        tokensPerS: lines.map((l) => l.tokens_per_s ?? Number.NaN),
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const started = new Date();
  const loadStart = loadavg()[0] ?? Number.NaN;
  const t0 = nowS();
  const summary: ScalingSummary = {
    date: started.toISOString(), quick, threads: THREADS, loadStart, loadEnd: Number.NaN, wallS: Number.NaN,
    volume: want('volume') ? volumeSection() : [],
    steps: want('steps') ? stepsSection() : [],
    loss: want('loss') ? lossSection() : [],
  };
  const done: ScalingSummary = { ...summary, loadEnd: loadavg()[0] ?? Number.NaN, wallS: nowS() - t0 };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(done, null, 1)}\n`);
  writeReport(done);
}

function writeReport(done: ScalingSummary): void {
  const report = scalingReport(done);
  writeFileSync(join(outDir, `ulysses-scaling${suffix}.md`), report.markdown);
  for (const [name, svg] of report.charts) writeFileSync(join(outDir, `${name}${suffix}.svg`), svg);
  process.stdout.write(`\n${report.markdown}`);
}

if (argv.includes('--report-only')) writeReport(JSON.parse(readFileSync(jsonPath, 'utf8')) as ScalingSummary);
else main();
