// Test fixtures for the training stack: a tiny bigram language model with exact gradients (so
// trainer tests need no transformer), an in-memory batch source, and small configs.
import type { CausalLM, ForwardResult, TokenBatch } from '../../src/nn/causal-lm.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { ParameterStore } from '../../src/nn/parameters.js';
import { buildConfig, type UlyssesConfig } from '../../src/train/config.js';
import { windowsToBatch } from '../../src/train/data/sampler.js';
import { MemoryTokenSource } from '../../src/train/data/token-source.js';
import type { BatchSource } from '../../src/train/trainer.js';
import { Rng } from '../../src/train/rng.js';

/** logits[n] = W[token[n]] + b: a bigram model whose loss and gradients are easy to trust. */
export class BigramLM implements CausalLM {
  readonly params = new ParameterStore();
  readonly config: ModelConfig;
  private forwards = 0;
  private logits = new Float32Array(0);
  private last: TokenBatch | null = null;

  /** nanAtForward: the 1-based forward call whose loss comes out NaN (simulated divergence). */
  constructor(readonly V: number, seed: number, private readonly nanAtForward = 0) {
    this.config = {
      arch: 'gpt', vocab_size: V, max_seq_len: 1024, d_model: V, n_layers: 1, n_heads: 1, n_kv_heads: 1,
      d_ff: V, norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: true,
    };
    this.params.declare('wte.weight', [V, V], true);
    this.params.declare('ln_f.bias', [V], false);
    this.params.finalize();
    const r = new Rng(seed);
    const w = this.params.value('wte.weight');
    for (let i = 0; i < w.length; i++) w[i] = (r.next() - 0.5) * 0.1;
  }

  forward(batch: TokenBatch): ForwardResult {
    this.forwards++;
    const V = this.V;
    const N = batch.B * batch.T;
    this.logits = new Float32Array(N * V);
    const w = this.params.value('wte.weight');
    const b = this.params.value('ln_f.bias');
    let lossSum = 0;
    let count = 0;
    for (let n = 0; n < N; n++) {
      const tok = batch.tokens[n] as number;
      const row = this.logits.subarray(n * V, (n + 1) * V);
      for (let v = 0; v < V; v++) row[v] = (w[tok * V + v] as number) + (b[v] as number);
      const target = batch.targets ? (batch.targets[n] as number) : -1;
      if (target < 0) continue;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, row[v] as number);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp((row[v] as number) - max);
      lossSum += Math.log(sum) + max - (row[target] as number);
      count++;
    }
    this.last = batch;
    if (this.forwards === this.nanAtForward) lossSum = NaN;
    return { lossSum, count };
  }

  backward(lossScale: number): void {
    const batch = this.last;
    if (!batch || !batch.targets) throw new Error('BigramLM.backward: no forward with targets');
    const V = this.V;
    const gw = this.params.grad('wte.weight');
    const gb = this.params.grad('ln_f.bias');
    for (let n = 0; n < batch.B * batch.T; n++) {
      const target = batch.targets[n] as number;
      if (target < 0) continue;
      const tok = batch.tokens[n] as number;
      const row = this.logits.subarray(n * V, (n + 1) * V);
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, row[v] as number);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp((row[v] as number) - max);
      for (let v = 0; v < V; v++) {
        const d = (Math.exp((row[v] as number) - max) / sum - (v === target ? 1 : 0)) * lossScale;
        gw[tok * V + v] = (gw[tok * V + v] as number) + d;
        gb[v] = (gb[v] as number) + d;
      }
    }
  }

  lastLogits(): Float32Array {
    return this.logits;
  }

  paramUnits(): string[][] {
    return [['wte.weight', 'ln_f.bias']];
  }

  setParamProvider(): void {
    throw new Error('BigramLM reads its parameters from its own store');
  }

  activationBytes(): number {
    return this.logits.byteLength;
  }
}

/** A text with learnable structure, as tokens in [0, V). */
export function patternTokens(n: number, V: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r.next() < 0.8 ? (i * 3) % V : r.int(V);
  return out;
}

/** Random windows over an in-memory token array, resumable through the generator state. */
export class ArrayBatchSource implements BatchSource {
  private readonly rng: Rng;
  private readonly source: MemoryTokenSource;

  constructor(tokens: Uint8Array, private readonly B: number, private readonly T: number, seed: number) {
    this.source = new MemoryTokenSource(tokens, 256, 1, 'test tokens');
    this.rng = new Rng(seed);
  }

  next(): TokenBatch {
    const starts: number[] = [];
    for (let b = 0; b < this.B; b++) starts.push(this.rng.int(this.source.length - this.T));
    return windowsToBatch(this.source, starts, this.T);
  }

  getState(): number {
    return this.rng.getState();
  }

  setState(state: number): void {
    this.rng.setState(state);
  }
}

/** A config for tiny, fast runs; `set` entries are key-path overrides. */
export function tinyConfig(set: Record<string, unknown> = {}): UlyssesConfig {
  const base: Record<string, unknown> = {
    'model.type': 'gpt', sequence_parallel_size: 1, 'model.d_model': 16, 'model.n_layers': 2, 'model.n_heads': 2, 'model.max_seq_len': 16,
    'data.seq_len': 16, 'data.val_fraction': 0, 'data.val_every': 0, 'train_micro_batch_size_per_gpu': 2,
    'train.steps': 4, 'train.kernels': 'native', 'train.threads': 1, 'train.checkpoint_every': 0,
    'scheduler.params.warmup_num_steps': 1, 'optimizer.params.lr': 0.01, 'steps_per_print': 1000,
  };
  const layers = Object.entries({ ...base, ...set }).map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'test' }));
  return buildConfig(layers);
}
