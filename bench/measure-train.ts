// Child-process side of the train section: full training steps (forward, backward, AdamW) of
// the reference GPT at one sequence length, timed per phase, with this process's peak RSS.
import { createNativeKernels, setNativeThreads } from '../src/kernels/native/native-kernels.js';
import { createModel } from '../src/nn/create-model.js';
import type { TokenBatch } from '../src/nn/causal-lm.js';
import type { ModelConfig } from '../src/nn/model-config.js';
import { AdamW } from '../src/train/optimizer.js';
import { maxRssBytes, median, nowS } from './util.js';

export interface TrainResult {
  N: number;
  threads: number;
  steps: number;
  stepS: number;
  fwdS: number;
  bwdS: number;
  optS: number;
  /** All parameters, position table included. */
  params: number;
  /** nanoGPT's N for estimate_mfu: parameters without the position table. */
  paramsNonEmbedding: number;
  loss: number;
  baselineRssBytes: number;
  peakRssBytes: number;
}

/** The reference model of every benchmark (DESIGN.md), sized for sequences of length N. */
export function referenceConfig(N: number): ModelConfig {
  return {
    arch: 'gpt', vocab_size: 256, max_seq_len: N, d_model: 256, n_layers: 4, n_heads: 8,
    n_kv_heads: 8, d_ff: 1024, norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: true,
  };
}

/** Random bytes shifted by one, like a byte-level corpus window; speed does not depend on content. */
function makeBatch(N: number, seed: number): TokenBatch {
  const stream = new Int32Array(N + 1);
  let s = seed >>> 0 || 1;
  for (let i = 0; i <= N; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    stream[i] = s >>> 24;
  }
  const positions = new Int32Array(N);
  for (let i = 0; i < N; i++) positions[i] = i;
  return { B: 1, T: N, tokens: stream.slice(0, N), targets: stream.slice(1), positions, docIds: null };
}

export function measureTrain(N: number, threads: number, steps: number, warmup: number): TrainResult {
  setNativeThreads(threads, threads);
  const kernels = createNativeKernels();
  const baselineRssBytes = process.memoryUsage().rss;
  const model = createModel(referenceConfig(N), { kernels, seed: 1 });
  const p = model.params;
  // The trainer's optimizer (no gradient clipping, as in the torch baseline).
  const adamw = new AdamW(kernels, p, { betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1 });
  const batch = makeBatch(N, 7);
  const fwd: number[] = [];
  const bwd: number[] = [];
  const opt: number[] = [];
  const total: number[] = [];
  let loss = Number.NaN;
  for (let step = 1; step <= warmup + steps; step++) {
    const t0 = nowS();
    p.zeroGrads();
    const r = model.forward(batch);
    const t1 = nowS();
    model.backward(1 / r.count);
    const t2 = nowS();
    adamw.update(3e-4, 1);
    const t3 = nowS();
    loss = r.lossSum / r.count;
    if (step > warmup) {
      fwd.push(t1 - t0);
      bwd.push(t2 - t1);
      opt.push(t3 - t2);
      total.push(t3 - t0);
    }
  }
  const wpe = p.infos.find((i) => i.name === 'wpe.weight')?.size ?? 0;
  return {
    N, threads, steps,
    stepS: median(total), fwdS: median(fwd), bwdS: median(bwd), optS: median(opt),
    params: p.numel, paramsNonEmbedding: p.numel - wpe, loss,
    baselineRssBytes, peakRssBytes: maxRssBytes(),
  };
}
