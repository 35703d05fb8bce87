// One real training step of a longest-sequence config in its own child process (the project's
// `ulysses bench` child: launchTraining, worker-thread ranks, no peak-FLOP measurement), so the
// process's peak resident memory is this step's alone.
//
// Memory per rank on the threads backend: the metrics' mem_peak is the process's maxRSS, which
// holds all P ranks (worker threads) and the main thread. The per-rank figure is mem_peak / P,
// an even share (the ranks hold equal token slices and, under ZeRO-3, equal state shards), the
// same attribution `ulysses train --max-seq` uses (src/train/max-seq-probe.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accountingBytes } from '../src/train/max-seq.js';
import type { StepMetrics } from '../src/train/metrics.js';
import { setupConfig, type Setup } from './longest-seq-configs.js';

const CHILD = fileURLToPath(new URL('../src/cli/bench/child.js', import.meta.url));

export interface StepResult {
  readonly N: number;
  /** Tokens per rank. */
  readonly x: number;
  /** The process's peak RSS (all P ranks), bytes. */
  readonly processPeak: number;
  /** processPeak / P. */
  readonly perRank: number;
  /** Rank 0's tracked bytes (params + grads + optimizer + activation buffers + state comm buffers). */
  readonly tracked: number;
  /** The memory accounting's bytes per rank (`ulysses train --dry-run`). */
  readonly accounting: number;
  /** The step's own time (rank 0's metrics) and the child's wall time, seconds. */
  readonly stepS: number;
  readonly wallS: number;
  readonly loss: number;
}

export type StepOutcome = { ok: true; r: StepResult } | { ok: false; N: number; error: string; wallS: number };

/** Trains one step of setup s at length N in a child process (killed after timeoutS). */
export function runStep(s: Setup, N: number, timeoutS: number): StepOutcome {
  const dir = mkdtempSync(join(tmpdir(), 'ulysses-longest-'));
  const t0 = performance.now();
  try {
    const config = setupConfig(s, N, join(dir, 'runs'));
    const cfgPath = join(dir, 'config.json');
    const resPath = join(dir, 'result.json');
    writeFileSync(cfgPath, JSON.stringify(config));
    const p = spawnSync(process.execPath, [CHILD, cfgPath, resPath], { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 64 << 20 });
    const wallS = (performance.now() - t0) / 1000;
    if (p.status !== 0) {
      const why = p.error ? p.error.message : p.signal ? `killed by ${p.signal}` : `exit ${String(p.status)}`;
      const last = p.stderr.trim().split('\n').filter((l) => /error/i.test(l)).pop() ?? '';
      return { ok: false, N, error: `${why}${last ? `: ${last.trim()}` : ''}`, wallS };
    }
    const steps = (JSON.parse(readFileSync(resPath, 'utf8')) as { steps: StepMetrics[] }).steps;
    const m = steps[steps.length - 1];
    if (!m || m.mem_peak === undefined) return { ok: false, N, error: 'the child reported no step with mem_peak', wallS };
    const tracked = (m.mem_params ?? 0) + (m.mem_grads ?? 0) + (m.mem_optimizer ?? 0) + (m.mem_activations ?? 0) + (m.mem_comm ?? 0);
    return {
      ok: true,
      r: {
        N, x: N / s.P, processPeak: m.mem_peak, perRank: m.mem_peak / s.P, tracked, accounting: accountingBytes(config, N),
        stepS: m.time_ms / 1000, wallS, loss: m.loss,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
