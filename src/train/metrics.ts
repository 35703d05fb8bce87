// Training metrics: the model-FLOPs estimate behind MFU, the JSONL log (one object per step),
// and the human progress line.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ModelConfig } from '../nn/model-config.js';
import type { ModelStateMemory } from '../parallel/zero/engine.js';

/**
 * Model FLOPs per trained token, nanoGPT's estimate from the PaLM paper (appendix B):
 * 6N (forward + backward through the weights) + 12·L·C·T (attention scores and weighted sum,
 * with C = H·D_head, counted over the full T×T square as PaLM does). N excludes the learned
 * position table, which is a lookup, not a matmul; the tied token embedding stays in (it is
 * the output layer's matmul).
 */
export function flopsPerToken(cfg: ModelConfig, numParams: number, seqLen: number): number {
  const positionTable = cfg.arch === 'gpt' ? cfg.max_seq_len * cfg.d_model : 0;
  const n = numParams - positionTable;
  return 6 * n + 12 * cfg.n_layers * cfg.d_model * seqLen;
}

/** One line of metrics.jsonl. */
export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  mfu: number | null;
  time_ms: number;
  /** Communication of this rank in the step (parallel runs): time, bytes sent, of which all-to-all. */
  comm_ms?: number;
  /** Of comm_ms, the sequence-parallel group's (the attention all-to-alls). */
  comm_a2a_ms?: number;
  comm_bytes_sent?: number;
  comm_a2a_bytes_sent?: number;
  val_loss?: number;
  /** Bytes this rank holds: parameters, gradients, AdamW moments, activations and scratch, model-state communication buffers. */
  mem_params?: number;
  mem_grads?: number;
  mem_optimizer?: number;
  mem_activations?: number;
  mem_comm?: number;
  /** Peak resident set size of the process (all ranks of a threads run share it). */
  mem_peak?: number;
}

/** The mem_* fields of a step from the model-state engine and the model's activation buffers. */
export function memoryMetrics(m: ModelStateMemory, activations: number): Pick<
  StepMetrics, 'mem_params' | 'mem_grads' | 'mem_optimizer' | 'mem_activations' | 'mem_comm' | 'mem_peak'
> {
  return {
    mem_params: m.params, mem_grads: m.grads, mem_optimizer: m.optimizer, mem_activations: activations, mem_comm: m.comm,
    mem_peak: process.resourceUsage().maxRSS * 1024,
  };
}

/** Bytes as MB with two decimals. */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

/** "params 1.23 MB, grads ..., optimizer ..., activations ..." for one rank, and ZeRO-3's buffers when it has them. */
export function formatMemory(m: ModelStateMemory, activations: number): string {
  const states = m.params + m.grads + m.optimizer;
  const buffers = m.comm > 0 ? `, gather/reduce buffers ${mb(m.comm)}` : '';
  return `params ${mb(m.params)}, grads ${mb(m.grads)}, optimizer ${mb(m.optimizer)} (model states ${mb(states)}), ` +
    `activations ${mb(activations)}${buffers}`;
}

/** Appends one JSON object per line; on resume, lines past the checkpoint's step are dropped. */
export class MetricsLog {
  constructor(readonly path: string) {}

  /** Keeps only the records up to `step` (a resumed run rewrites what came after its checkpoint). */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const kept = readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((line) => {
        if (line.trim() === '') return false;
        try {
          const rec = JSON.parse(line) as { step?: unknown };
          return typeof rec.step === 'number' && rec.step <= step;
        } catch {
          return false;
        }
      });
    writeFileSync(this.path, kept.map((l) => `${l}\n`).join(''));
  }

  append(m: StepMetrics): void {
    appendFileSync(this.path, `${JSON.stringify(m)}\n`);
  }
}

/** Reads a metrics.jsonl back (for tests and tools). */
export function readMetrics(path: string): StepMetrics[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as StepMetrics);
}

function fmtRate(x: number): string {
  return x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}

/** The human progress line; with a ZeRO stage above 0 the non-attention traffic is labelled zero-<stage>. */
export function formatProgress(m: StepMetrics, totalSteps: number, zeroStage = 0): string {
  const parts = [
    `step ${String(m.step).padStart(String(totalSteps).length)}/${totalSteps}`,
    `loss ${m.loss.toFixed(4)}`,
    `lr ${m.lr.toExponential(2)}`,
    `grad_norm ${m.grad_norm.toFixed(3)}`,
    `${fmtRate(m.tokens_per_s)} tok/s`,
  ];
  if (m.mfu !== null) parts.push(`mfu ${(100 * m.mfu).toFixed(1)}%`);
  parts.push(`${m.time_ms.toFixed(0)} ms`);
  if (m.comm_ms !== undefined && m.comm_bytes_sent !== undefined) {
    const a2a = m.comm_a2a_bytes_sent ?? 0;
    parts.push(
      `comm ${m.comm_ms.toFixed(0)} ms ${(m.comm_bytes_sent / 1e6).toFixed(2)} MB ` +
        `(a2a ${(a2a / 1e6).toFixed(2)}, ${zeroStage > 0 ? `zero-${zeroStage}` : 'allreduce'} ${((m.comm_bytes_sent - a2a) / 1e6).toFixed(2)})`,
    );
  }
  if (m.val_loss !== undefined) parts.push(`val_loss ${m.val_loss.toFixed(4)}`);
  if (m.mem_peak !== undefined) parts.push(`peak ${(m.mem_peak / 1e6).toFixed(0)} MB`);
  return parts.join(' | ');
}
