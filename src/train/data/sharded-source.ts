// The data loader of a parallel run: every rank draws the same global batches (same sampler, same
// seed, dp × B rows), keeps the rows of its data-parallel rank and the tokens of its
// sequence-parallel rank. Because every rank walks one stream, the sampler state in a checkpoint
// resumes every rank, and a dp × sp run sees exactly the data of one worker with dp × B rows.
//
// Shape legend: B = rows per rank, N = full sequence, n_r = tokens of sequence-parallel rank r.
import type { TokenBatch } from '../../nn/causal-lm.js';
import { batchRows, sequenceShard } from '../../parallel/ulysses/shard-batch.js';
import type { BatchSource } from '../trainer.js';

/** Where a rank sits: its rows of the global batch and its sequence shard. */
export interface ShardPosition {
  /** Data-parallel rank and size: this rank keeps rows [dpRank·B, (dpRank+1)·B) of dp·B. */
  dpRank: number;
  dp: number;
  /** Sequence-parallel rank and size. */
  spRank: number;
  sp: number;
}

/** This rank's [B, n_r] piece of a global [dp·B, N] batch. */
export function shardGlobalBatch(batch: TokenBatch, at: ShardPosition): TokenBatch {
  if (batch.B % at.dp !== 0) throw new RangeError(`shardGlobalBatch: ${batch.B} rows do not split over data_parallel_size ${at.dp}`);
  const rows = batch.B / at.dp;
  return sequenceShard(batchRows(batch, at.dpRank * rows, rows), at.sp, at.spRank);
}

export class ShardedBatchSource implements BatchSource {
  /** inner yields global batches of dp·B rows and N tokens. */
  constructor(private readonly inner: BatchSource, private readonly at: ShardPosition) {}

  next(): TokenBatch {
    return shardGlobalBatch(this.inner.next(), this.at);
  }

  getState(): number {
    return this.inner.getState();
  }

  setState(state: number): void {
    this.inner.setState(state);
  }
}
