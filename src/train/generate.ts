// Autoregressive sampling from a trained model. Each new token reruns the full forward over
// the last max_seq_len tokens: simple and exact, fine for short samples from small models.
import type { Kernels } from '../kernels/kernels.js';
import type { CausalLM } from '../nn/causal-lm.js';
import { loadCheckpoint, restoreModel } from './checkpoint.js';
import { buildModel } from './run.js';
import { Rng } from './rng.js';

export interface SampleOptions {
  tokens: number;
  /** 0 picks the most likely token every time. */
  temperature: number;
  seed: number;
  /** Keep only the k most likely tokens (0 = all). */
  topK?: number;
  /** Called with each new token as it is produced. */
  onToken?: (token: number) => void;
}

/** Draws a token from logits[V] at the given temperature. */
export function sampleToken(logits: Float32Array, temperature: number, rng: Rng, topK = 0): number {
  const V = logits.length;
  let best = 0;
  for (let i = 1; i < V; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
  if (temperature <= 0) return best;
  let cutoff = -Infinity;
  if (topK > 0 && topK < V) cutoff = [...logits].sort((a, b) => b - a)[topK - 1] as number;
  const max = logits[best] as number;
  const p = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) {
    const l = logits[i] as number;
    p[i] = l >= cutoff ? Math.exp((l - max) / temperature) : 0;
    sum += p[i] as number;
  }
  let u = rng.next() * sum;
  for (let i = 0; i < V; i++) {
    u -= p[i] as number;
    if (u < 0) return i;
  }
  return best;
}

/** Continues `prompt` by opts.tokens tokens; returns only the new tokens. */
export function generate(model: CausalLM, prompt: readonly number[], opts: SampleOptions): number[] {
  const ctxMax = model.config.max_seq_len;
  const V = model.config.vocab_size;
  const rng = new Rng(opts.seed);
  const seq = [...prompt];
  const out: number[] = [];
  for (let n = 0; n < opts.tokens; n++) {
    const ctx = seq.slice(Math.max(0, seq.length - ctxMax));
    const T = ctx.length;
    const positions = new Int32Array(T);
    for (let t = 0; t < T; t++) positions[t] = t;
    model.forward({ B: 1, T, tokens: Int32Array.from(ctx), targets: null, positions, docIds: null });
    const logits = model.lastLogits().subarray((T - 1) * V, T * V);
    const tok = sampleToken(logits, opts.temperature, rng, opts.topK ?? 0);
    seq.push(tok);
    out.push(tok);
    opts.onToken?.(tok);
  }
  return out;
}

/** Rebuilds the model of a checkpoint with its trained weights. */
export function loadModelFromCheckpoint(dir: string, kernels: Kernels): CausalLM {
  return loadRunModel(dir, kernels).model;
}

/** A checkpoint's model with its weights, and the data.tokenizer its run trained with ("bytes" before the key existed). */
export function loadRunModel(dir: string, kernels: Kernels): { model: CausalLM; tokenizer: string } {
  const ckpt = loadCheckpoint(dir);
  const model = buildModel(ckpt.state.config, kernels);
  restoreModel(ckpt, model);
  return { model, tokenizer: (ckpt.state.config.data as { tokenizer?: string }).tokenizer ?? 'bytes' };
}
