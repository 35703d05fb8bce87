// Shared by the sequence-parallel training tests: deterministic global batches (with document ids
// and a few ignored targets) and the tiny configs both the ranks and the one-worker reference use.
import type { TokenBatch } from '../../src/nn/causal-lm.js';
import { buildConfig, type UlyssesConfig } from '../../src/train/config.js';
import type { BatchSource } from '../../src/train/trainer.js';
import { rng } from '../helpers.js';

/**
 * count batches of [B, N]: random tokens, targets shifted from the same stream (a few set to -1,
 * ignored), global positions 0..N-1, and two or three documents per row when docs is set.
 */
export function globalBatches(count: number, B: number, N: number, V: number, seed: number, docs: boolean): TokenBatch[] {
  const r = rng(seed);
  const out: TokenBatch[] = [];
  for (let c = 0; c < count; c++) {
    const tokens = new Int32Array(B * N);
    const targets = new Int32Array(B * N);
    const positions = new Int32Array(B * N);
    const docIds = new Int32Array(B * N);
    for (let b = 0; b < B; b++) {
      const stream = Array.from({ length: N + 1 }, () => Math.floor(r() * V));
      const cut1 = 1 + Math.floor(r() * (N - 2));
      const cut2 = r() < 0.5 ? N : cut1 + 1 + Math.floor(r() * (N - cut1 - 1));
      for (let t = 0; t < N; t++) {
        const i = b * N + t;
        tokens[i] = stream[t] as number;
        targets[i] = r() < 0.1 ? -1 : (stream[t + 1] as number);
        positions[i] = t;
        docIds[i] = 100 * b + (t < cut1 ? 0 : t < cut2 ? 1 : 2);
      }
    }
    out.push({ B, T: N, tokens, targets, positions, docIds: docs ? docIds : null });
  }
  return out;
}

/** Replays batches in order. */
export class ListSource implements BatchSource {
  private i = 0;
  constructor(private readonly batches: readonly TokenBatch[]) {}
  next(): TokenBatch {
    const b = this.batches[this.i++ % this.batches.length];
    if (!b) throw new Error('ListSource: no batches');
    return b;
  }
  getState(): number {
    return this.i;
  }
  setState(s: number): void {
    this.i = s;
  }
}

/** What one equivalence case trains: the model shape and the parallel layout. */
export interface ParallelCase {
  readonly label: string;
  readonly arch: 'gpt' | 'llama';
  readonly dModel: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly N: number;
  /** Rows per rank per micro-batch. */
  readonly B: number;
  readonly sp: number;
  readonly dp: number;
  readonly accum: number;
  readonly docs: boolean;
  readonly kernels: 'native' | 'reference';
  readonly steps: number;
  /** ZeRO stage of the parallel run (default 0); the one-worker reference always runs stage 0. */
  readonly zeroStage?: 0 | 1 | 2 | 3;
}

/** The config of a case; sp = dp = 1 and B = dp·B gives the one-worker reference. */
export function caseConfig(k: ParallelCase, sp: number, dp: number, B: number): UlyssesConfig {
  const set: Record<string, unknown> = {
    'model.type': k.arch, 'model.d_model': k.dModel, 'model.n_layers': 2, 'model.n_heads': k.heads,
    'model.n_kv_heads': k.kvHeads, 'model.max_seq_len': k.N, 'model.tie_embeddings': k.arch === 'gpt',
    'data.seq_len': k.N, 'data.val_fraction': 0, 'data.val_every': 0, train_micro_batch_size_per_gpu: B,
    gradient_accumulation_steps: k.accum, gradient_clipping: 1.0, 'train.steps': k.steps, 'train.kernels': k.kernels,
    'train.threads': 1, 'scheduler.params.warmup_num_steps': 1, 'optimizer.params.lr': 0.01, steps_per_print: 1000,
    sequence_parallel_size: sp, data_parallel_size: dp, seed: 5, 'zero_optimization.stage': k.zeroStage ?? 0,
  };
  return buildConfig(Object.entries(set).map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'test' })));
}

/** Batches of a case: one list of global [dp·B, N] batches, enough for every micro-batch of every step. */
export function caseBatches(k: ParallelCase): TokenBatch[] {
  return globalBatches(k.steps * k.accum, k.dp * k.B, k.N, 256, 17, k.docs);
}
