// The headline numbers of a run, computed from its metrics records: what the report's summary
// table shows and what a reader compares across runs.
import type { MetricsRecord } from './metrics-file.js';

export interface RunSummary {
  steps: number;
  /** train.steps of the run's config, when known. */
  plannedSteps: number | null;
  finalLoss: number | null;
  bestLoss: { value: number; step: number } | null;
  finalValLoss: number | null;
  bestValLoss: { value: number; step: number } | null;
  /** Median over steps after the first (the first step includes warm-up work). */
  medianTokensPerS: number | null;
  medianMfu: number | null;
  medianStepMs: number | null;
  /** Wall time of all steps (ms). */
  totalTimeMs: number;
  /** Fraction of step time spent in collectives, over all steps that report it. */
  commFraction: number | null;
  /** Bytes sent per step in the last step that reports it. */
  commBytesPerStep: number | null;
  finalGradNorm: number | null;
  /** Largest mem_peak (process peak RSS, bytes) of any step or rank, when recorded. */
  peakMemoryBytes: number | null;
}

function num(r: MetricsRecord, key: string): number | null {
  const v = r[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function best(records: MetricsRecord[], key: string): { value: number; step: number } | null {
  let out: { value: number; step: number } | null = null;
  for (const r of records) {
    const v = num(r, key);
    if (v !== null && (out === null || v < out.value)) out = { value: v, step: r.step };
  }
  return out;
}

function last(records: MetricsRecord[], key: string): number | null {
  for (let i = records.length - 1; i >= 0; i--) {
    const v = num(records[i] as MetricsRecord, key);
    if (v !== null) return v;
  }
  return null;
}

/** Values of `key` over the steady-state steps (all but the first, unless that is all there is). */
function steady(records: MetricsRecord[], key: string): number[] {
  const rs = records.length > 1 ? records.slice(1) : records;
  return rs.map((r) => num(r, key)).filter((v): v is number => v !== null);
}

/** The planned step count from a run's config.json contents, when it has one. */
export function plannedSteps(config: unknown): number | null {
  const train = (config as { train?: { steps?: unknown } } | null)?.train;
  return typeof train?.steps === 'number' ? train.steps : null;
}

function peakOf(records: MetricsRecord[], key: string): number | null {
  let peak: number | null = null;
  for (const r of records) {
    const v = r[key];
    for (const x of Array.isArray(v) ? (v as unknown[]) : [v]) {
      if (typeof x === 'number' && Number.isFinite(x)) peak = Math.max(peak ?? x, x);
    }
  }
  return peak;
}

export function summarize(records: MetricsRecord[], config: unknown): RunSummary {
  let time = 0;
  let timedWithComm = 0;
  let comm = 0;
  for (const r of records) {
    const t = num(r, 'time_ms');
    if (t === null) continue;
    time += t;
    const c = num(r, 'comm_ms');
    if (c !== null) {
      timedWithComm += t;
      comm += c;
    }
  }
  const lastRec = records[records.length - 1];
  return {
    steps: lastRec ? lastRec.step : 0,
    plannedSteps: plannedSteps(config),
    finalLoss: last(records, 'loss'),
    bestLoss: best(records, 'loss'),
    finalValLoss: last(records, 'val_loss'),
    bestValLoss: best(records, 'val_loss'),
    medianTokensPerS: median(steady(records, 'tokens_per_s')),
    medianMfu: median(steady(records, 'mfu')),
    medianStepMs: median(steady(records, 'time_ms')),
    totalTimeMs: time,
    commFraction: timedWithComm > 0 ? comm / timedWithComm : null,
    commBytesPerStep: last(records, 'comm_bytes_sent'),
    finalGradNorm: last(records, 'grad_norm'),
    peakMemoryBytes: peakOf(records, 'mem_peak'),
  };
}
