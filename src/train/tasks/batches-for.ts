// The training and validation batches of a run's data: windows of a corpus, or samples of a
// generated task when data.corpus is "task:<name>". Both one-worker and parallel runs call this
// with global batch sizes; a parallel run shards what it returns.
import type { TokenBatch } from '../../nn/causal-lm.js';
import { validationBatches, WindowSampler, type DataSplit, type PackOptions } from '../data/sampler.js';
import type { TokenSource } from '../data/token-source.js';
import type { BatchSource } from '../trainer.js';
import { TaskBatchSource, TaskTokenSource, taskValidationBatches } from './task-source.js';

/** Validation samples of a task get their own seed, apart from the training stream's. */
const VALIDATION_SEED_SALT = 0x76a11d;

export interface RunBatches {
  data: BatchSource;
  val: TokenBatch[] | null;
}

/** The data keys batches depend on. */
export interface BatchKeys {
  val_batches: number;
  task_min_len: number | null;
  task_whole_share: number;
  task_loss: 'answer' | 'all';
}

/** rows sequences of T tokens per batch; data.val_batches fixed validation batches when the split holds some out. */
export function batchesFor(
  source: TokenSource, split: DataSplit, T: number, rows: number, seed: number, data: BatchKeys, pack: PackOptions | null,
): RunBatches {
  if (source instanceof TaskTokenSource) {
    // Validation always holds one sample of the full length per row, loss on the answer: retrieval across the whole window.
    return {
      data: new TaskBatchSource(source.task, T, rows, seed, { minLen: data.task_min_len, wholeShare: data.task_whole_share, loss: data.task_loss }),
      val: split.val ? taskValidationBatches(source.task, T, rows, data.val_batches, (seed ^ VALIDATION_SEED_SALT) >>> 0) : null,
    };
  }
  return {
    data: new WindowSampler(source, split.train, T, rows, seed, pack),
    val: split.val ? validationBatches(source, split.val, T, rows, data.val_batches, pack) : null,
  };
}
