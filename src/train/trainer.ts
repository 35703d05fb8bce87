// The training loop: gradient accumulation over micro-batches, global-norm clipping, AdamW with
// the warmup-cosine schedule, periodic validation, metrics and checkpoints. With a StepSync over
// several ranks, token counts, losses and gradients are summed over them before the norm, so every
// rank takes the identical update. A non-finite loss or gradient stops the run before the update,
// so the last checkpoint stays good.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Kernels } from '../kernels/kernels.js';
import type { CausalLM, TokenBatch } from '../nn/causal-lm.js';
import { schedulerTotalSteps, warmupSteps, type UlyssesConfig } from './config.js';
import { restoreModel, restoreOptimizer, saveCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { NonFiniteLossError } from './errors.js';
import { formatProgress, MetricsLog, type StepMetrics } from './metrics.js';
import { AdamW, clipCoefficient, globalGradNorm } from './optimizer.js';
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
  readonly optimizer: AdamW;
  private step = 0;
  private tokensSeen = 0;
  private readonly metrics: MetricsLog | null;
  private readonly schedule: WarmupCosineParams;
  private readonly sync: StepSync;

  constructor(private readonly o: TrainerOptions) {
    this.sync = o.sync ?? new LocalSync();
    const c = o.config;
    this.optimizer = new AdamW(o.kernels, o.model.params, c.optimizer.params);
    this.schedule = { ...c.scheduler.params, warmup_num_steps: warmupSteps(c), total_num_steps: schedulerTotalSteps(c) };
    if (o.runDir) mkdirSync(o.runDir, { recursive: true });
    this.metrics = o.runDir ? new MetricsLog(join(o.runDir, 'metrics.jsonl')) : null;
    if (o.resume) {
      restoreModel(o.resume, o.model);
      restoreOptimizer(o.resume, o.model.params, this.optimizer);
      o.data.setState(o.resume.state.sampler_state);
      this.step = o.resume.state.step;
      this.tokensSeen = o.resume.state.tokens_seen;
    }
    this.metrics?.truncateAfter(this.step);
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
    model.params.zeroGrads();
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
    this.sync.sumGradients(model.params.grads);
    const gradNorm = globalGradNorm(model.params.grads);
    if (!Number.isFinite(gradNorm)) throw new NonFiniteLossError(step, 'gradient norm', gradNorm);
    const lr = learningRateAt(step, c.optimizer.params.lr, this.schedule);
    this.optimizer.update(lr, clipCoefficient(gradNorm, c.gradient_clipping));
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
      ...(comm ? { comm_ms: comm.ms, comm_bytes_sent: comm.bytesSent, comm_a2a_bytes_sent: comm.a2aBytesSent } : {}),
    };
  }

  /** Writes the checkpoint of the current state into runDir/checkpoint. */
  saveCheckpoint(): void {
    if (!this.o.runDir) return;
    saveCheckpoint(join(this.o.runDir, 'checkpoint'), this.o.model, this.optimizer, {
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
      if (s === 1 || s % c.steps_per_print === 0 || s === last || m.val_loss !== undefined) log(formatProgress(m, last));
      const ckptDue = c.train.checkpoint_every > 0 && s % c.train.checkpoint_every === 0;
      if (ckptDue || s === last) {
        this.saveCheckpoint();
        if (this.o.runDir) log(`checkpoint saved at step ${s}: ${join(this.o.runDir, 'checkpoint')}`);
      }
    }
    return { steps: out, finalStep: this.step, lastValLoss };
  }
}
