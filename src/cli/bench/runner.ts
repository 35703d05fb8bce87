// Runs the cells of `ulysses bench` one after another, each in a child process (child.ts), and
// reduces each run's per-step metrics to the table's figures: the first step is a warm-up, the
// rest give the median step time; bytes and memory are rank 0's, the same on every step.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StepMetrics } from '../../train/metrics.js';
import type { BenchCase } from './cases.js';
import type { ChildResult } from './child.js';

export interface Measured {
  /** Median time of the steps after the warm-up step. */
  stepMs: number;
  /** Tokens of one step (micro-batches × B × N, every rank's share) over the median step time. */
  tokensPerS: number;
  /** Bytes rank 0 sent in one step: every collective, and of them the sequence-parallel group's. */
  bytesPerRank: number;
  spBytesPerRank: number;
  /** Communication time over step time, summed over the measured steps (rank 0). */
  commShare: number;
  /** Rank 0's accounted bytes: parameters, gradients, optimizer, activations, communication buffers. */
  memPerRank: number;
  /** Peak resident set of the process that ran all P ranks. */
  peakRss: number | null;
  steps: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The table's figures from the steps of one run (the first is the warm-up). */
export function summarizeSteps(steps: readonly StepMetrics[], tokensPerStep: number): Measured {
  const measured = steps.length > 1 ? steps.slice(1) : [...steps];
  const last = measured[measured.length - 1];
  if (!last) throw new Error('summarizeSteps: the run returned no steps');
  const stepMs = median(measured.map((m) => m.time_ms));
  const time = measured.reduce((s, m) => s + m.time_ms, 0);
  const comm = measured.reduce((s, m) => s + (m.comm_ms ?? 0), 0);
  return {
    stepMs,
    tokensPerS: tokensPerStep / (stepMs / 1000),
    bytesPerRank: last.comm_bytes_sent ?? 0,
    spBytesPerRank: last.comm_a2a_bytes_sent ?? 0,
    commShare: time > 0 ? comm / time : 0,
    memPerRank: (last.mem_params ?? 0) + (last.mem_grads ?? 0) + (last.mem_optimizer ?? 0) + (last.mem_activations ?? 0) + (last.mem_comm ?? 0),
    peakRss: last.mem_peak ?? null,
    steps: measured.length,
  };
}

export type RunOutcome = { ok: true; measured: Measured } | { ok: false; error: string };

/** The message of a child's uncaught error, without its stack and Node's banner lines. */
export function errorLine(stderr: string, status: number | null): string {
  const lines = stderr.split('\n').map((l) => l.trim())
    .filter((l) => l !== '' && l !== '^' && !l.startsWith('at ') && !l.startsWith('Node.js v') && !l.startsWith('node:') && !l.startsWith('triggerUncaught'));
  return lines.find((l) => /error/i.test(l)) ?? lines[lines.length - 1] ?? `exit code ${String(status)}`;
}

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

/** Trains one cell in a child process; a failure is reported with the child's last error line. */
export function runCase(c: BenchCase, timeoutS: number): RunOutcome {
  const config = c.config;
  if (!config) return { ok: false, error: c.unavailable ?? 'no config' };
  const dir = mkdtempSync(join(tmpdir(), 'ulysses-bench-'));
  try {
    // Runs go to a scratch folder that is removed afterwards: the bench keeps its own results.
    const run = { ...config, train: { ...config.train, out_dir: join(dir, 'runs') } };
    const cfgPath = join(dir, 'config.json');
    const resPath = join(dir, 'result.json');
    writeFileSync(cfgPath, JSON.stringify(run));
    const r = spawnSync(process.execPath, [CHILD, cfgPath, resPath], { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 64 << 20 });
    if (r.status !== 0) return { ok: false, error: `failed: ${r.error ? r.error.message : errorLine(r.stderr, r.status)}` };
    const res = JSON.parse(readFileSync(resPath, 'utf8')) as ChildResult;
    return { ok: true, measured: summarizeSteps(res.steps, config.train_micro_batch_size_per_gpu * config.gradient_accumulation_steps * c.N) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
