// The training loop: gradient accumulation over micro-batches, global-norm clipping, AdamW with
// the warmup-cosine schedule, periodic validation, metrics and checkpoints. With a StepSync over
// several ranks, token counts and losses are summed over them, and the model-state engine of the
// configured ZeRO stage sums (or reduce-scatters) the gradients before the norm, so every rank
// takes the same update. A non-finite loss or gradient stops the run before the update, so the
// last checkpoint stays good.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Kernels } from '../kernels/kernels.js';
import type { CausalLM, TokenBatch } from '../nn/causal-lm.js';
import type { ParameterInfo } from '../nn/parameters.js';
import { createModelStateEngine } from '../parallel/zero/create.js';
import type { ModelStateEngine } from '../parallel/zero/engine.js';
import { schedulerTotalSteps, warmupSteps, type UlyssesConfig } from './config.js';
import { readFullState, writeCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { NonFiniteLossError } from './errors.js';
import { formatMemory, formatProgress, memoryMetrics, MetricsLog, type StepMetrics } from './metrics.js';
import { clipCoefficient } from './optimizer.js';
import { learningRateAt, type WarmupCosineParams } from './schedule.js';
import { LocalSync, type StepSync } from './step-sync.js';

/** Where training batches come from; the state makes the data position resumable. */
export interface BatchSource {
  next(): TokenBatch;
  getState(): number;
  setState(state: number): void;
}

export interface TrainerOptions {
  config: UlyssesConfig;
  model: CausalLM;
  kernels: Kernels;
  data: BatchSource;
  /** Fixed validation batches, or null for no validation. */
  val: TokenBatch[] | null;
  /** Token count of the training corpus, recorded in checkpoints. */
  dataTokens: number;
  /** Run folder for metrics.jsonl and checkpoint/; null writes nothing. */
  runDir: string | null;
  /** Model FLOPs per token and measured peak FLOP/s for MFU; null leaves MFU out. */
  flopsPerToken: number | null;
  peakFlops: number | null;
  log?: (line: string) => void;
  /** A verified checkpoint to continue from. */
  resume?: LoadedCheckpoint;
  /** The ranks this one trains with (default: none). Only the leader should get a runDir and log. */
  sync?: StepSync;
  /**
   * Whether checkpoints are taken (default: runDir !== null). Every rank of a sharded run must pass
   * the same value, since consolidating shards is collective; only the rank with a runDir writes.
   */
  checkpointing?: boolean;
  /** Activation bytes per rank the progress header shows before the first step (measured afterwards). */
  activationEstimate?: number;
  /**
   * Model states kept by the caller's engine instead of the zero_optimization.stage one (tensor
   * parallelism), with the parameter layout of its fullVector / loadFull (what checkpoints hold).
   */
  modelState?: { engine: ModelStateEngine; infos: readonly ParameterInfo[] };
}

export interface TrainResult {
  /** Metrics of the steps this call ran. */
  steps: StepMetrics[];
  finalStep: number;
  lastValLoss: number | null;
}

/** Number of tokens that carry a target (negative targets are ignored). */
export function countTargets(batch: TokenBatch): number {
  const t = batch.targets;
  if (!t) return 0;
  let n = 0;
  for (let i = 0; i < t.length; i++) if ((t[i] as number) >= 0) n++;
  return n;
}

export class Trainer {
  /** Parameters, gradients and AdamW moments, replicated or sharded as zero_optimization.stage says. */
  readonly engine: ModelStateEngine;
  private step = 0;
  private tokensSeen = 0;
  private readonly metrics: MetricsLog | null;
  private readonly schedule: WarmupCosineParams;
  private readonly sync: StepSync;

  constructor(private readonly o: TrainerOptions) {
    this.sync = o.sync ?? new LocalSync();
    const c = o.config;
    this.engine = o.modelState?.engine
      ?? createModelStateEngine(c.zero_optimization.stage, o.model, o.kernels, c.optimizer.params, this.sync.modelStateOps());
    this.schedule = { ...c.scheduler.params, warmup_num_steps: warmupSteps(c), total_num_steps: schedulerTotalSteps(c) };
    if (o.runDir) mkdirSync(o.runDir, { recursive: true });
    this.metrics = o.runDir ? new MetricsLog(join(o.runDir, 'metrics.jsonl')) : null;
    if (o.resume) {
      // Every rank reads the whole checkpoint and keeps the part its layout gives it.
      this.engine.loadFull(readFullState(o.resume, o.model.config, this.stateInfos), o.resume.state.step);
      o.data.setState(o.resume.state.sampler_state);
      this.step = o.resume.state.step;
      this.tokensSeen = o.resume.state.tokens_seen;
    }
    this.metrics?.truncateAfter(this.step);
  }

  /** The parameter layout of the engine's whole-model vectors. */
  private get stateInfos(): readonly ParameterInfo[] {
    return this.o.modelState?.infos ?? this.o.model.params.infos;
  }

  get completedSteps(): number {
    return this.step;
  }

  /** Mean loss over the validation batches of every rank (forward only). */
  evaluate(): number {
    let sum = 0;
    let count = 0;
    for (const b of this.o.val ?? []) {
      const r = this.o.model.forward(b);
      sum += r.lossSum;
      count += r.count;
    }
    const [total] = this.sync.sumCounts([count]) as [number];
    const [lossSum] = this.sync.sumValues([sum]) as [number];
    return total > 0 ? lossSum / total : NaN;
  }

  /** One optimizer step over gradient_accumulation_steps micro-batches; returns its metrics. */
  trainStep(): StepMetrics {
    const { model, config: c } = this.o;
    const step = this.step + 1;
    const t0 = performance.now();
    this.sync.beginStep();
    this.engine.zeroGrads();
    const micro: TokenBatch[] = [];
    for (let i = 0; i < c.gradient_accumulation_steps; i++) micro.push(this.o.data.next());
    // Every micro-batch's backward is scaled by the step's total token count over every rank, so
    // accumulation and the gradient sum give exactly the gradient of the mean loss over all of them.
    const local = micro.reduce((s, b) => s + countTargets(b), 0);
    const localTokens = micro.reduce((s, b) => s + b.B * b.T, 0);
    const [total, tokens] = this.sync.sumCounts([local, localTokens]) as [number, number];
    if (total === 0) throw new Error(`step ${step}: no micro-batch has a target token`);
    let localLoss = 0;
    for (const b of micro) {
      localLoss += model.forward(b).lossSum;
      model.backward(1 / total);
    }
    const [lossSum] = this.sync.sumValues([localLoss]) as [number];
    const loss = lossSum / total;
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(step, 'loss', loss);
    const gradNorm = this.engine.reduceGradients();
    if (!Number.isFinite(gradNorm)) throw new NonFiniteLossError(step, 'gradient norm', gradNorm);
    const lr = learningRateAt(step, c.optimizer.params.lr, this.schedule);
    this.engine.step(lr, clipCoefficient(gradNorm, c.gradient_clipping));
    const comm = this.sync.endStep();
    const seconds = (performance.now() - t0) / 1000;
    this.step = step;
    this.tokensSeen += tokens;
    const tokensPerS = tokens / seconds;
    const { flopsPerToken: fpt, peakFlops: peak } = this.o;
    return {
      step,
      loss,
      lr,
      grad_norm: gradNorm,
      tokens_per_s: tokensPerS,
      mfu: fpt !== null && peak !== null && peak > 0 ? (fpt * tokensPerS) / peak : null,
      time_ms: seconds * 1000,
      ...(comm ? {
        comm_ms: comm.ms, comm_a2a_ms: comm.a2aMs, comm_bytes_sent: comm.bytesSent, comm_a2a_bytes_sent: comm.a2aBytesSent,
      } : {}),
      ...memoryMetrics(this.engine.memory(), model.activationBytes()),
    };
  }

  /** The line the progress starts with: ZeRO stage, group, and the bytes this rank holds. */
  memoryHeader(): string {
    const c = this.o.config;
    const stage = this.engine.stage;
    const group = this.engine.groupSize;
    const where = group > 1
      ? `over the dp x sp group of ${group} ranks (data_parallel_size ${c.data_parallel_size} x sequence_parallel_size ${c.sequence_parallel_size})`
      : 'on one worker';
    const acts = this.o.model.activationBytes() || (this.o.activationEstimate ?? 0);
    return `zero_optimization.stage ${stage} ${where}; per rank: ${formatMemory(this.engine.memory(), acts)}`;
  }

  /** Writes the checkpoint of the current state into runDir/checkpoint (collective when the states are sharded). */
  saveCheckpoint(): void {
    const writes = this.o.runDir !== null;
    if (!(this.o.checkpointing ?? writes)) return;
    const e = this.engine;
    const params = e.fullVector('params', writes);
    const m = e.fullVector('exp_avg', writes);
    const v = e.fullVector('exp_avg_sq', writes);
    if (!this.o.runDir || !params || !m || !v) return;
    const { model } = this.o;
    writeCheckpoint(join(this.o.runDir, 'checkpoint'), model.config, this.stateInfos, { params, exp_avg: m, exp_avg_sq: v }, e.optimizerStep, {
      step: this.step,
      sampler_state: this.o.data.getState(),
      tokens_seen: this.tokensSeen,
      data_tokens: this.o.dataTokens,
      config: this.o.config,
    });
  }

  /** Trains until train.steps; throws NonFiniteLossError (keeping the last checkpoint) on divergence. */
  run(): TrainResult {
    const c = this.o.config;
    const last = c.train.steps;
    const log = this.o.log ?? ((): void => {});
    const out: StepMetrics[] = [];
    let lastValLoss: number | null = null;
    if (this.step < last) log(this.memoryHeader());
    while (this.step < last) {
      const m = this.trainStep();
      const s = m.step;
      const valDue = c.data.val_every > 0 ? s % c.data.val_every === 0 : false;
      if (this.o.val && (valDue || s === last)) {
        m.val_loss = this.evaluate();
        lastValLoss = m.val_loss;
      }
      this.metrics?.append(m);
      out.push(m);
      if (s === 1 || s % c.steps_per_print === 0 || s === last || m.val_loss !== undefined) log(formatProgress(m, last, this.engine.stage));
      const ckptDue = c.train.checkpoint_every > 0 && s % c.train.checkpoint_every === 0;
      if (ckptDue || s === last) {
        this.saveCheckpoint();
        if (this.o.runDir) log(`checkpoint saved at step ${s}: ${join(this.o.runDir, 'checkpoint')}`);
      }
    }
    return { steps: out, finalStep: this.step, lastValLoss };
  }
}
