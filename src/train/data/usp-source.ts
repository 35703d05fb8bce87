// The data loader of a ring or hybrid (Ulysses x ring) run: like ShardedBatchSource every rank
// draws the same global batches and keeps its data-parallel rows, but its tokens are its zigzag
// (ring) or hybrid piece of every row rather than a contiguous shard (src/parallel/ring/zigzag.ts).
//
// Shape legend: B = rows per rank, N = full sequence, U = ulysses degree, R = ring degree.
import type { TokenBatch } from '../../nn/causal-lm.js';
import { uspShard } from '../../parallel/ring/shard-batch.js';
import { batchRows } from '../../parallel/ulysses/shard-batch.js';
import type { BatchSource } from '../trainer.js';
import type { ShardPosition } from './sharded-source.js';

/** Where a ring / hybrid rank sits: its rows, its sequence-parallel index and the two degrees (sp = U·R). */
export interface UspShardPosition extends ShardPosition {
  ulysses: number;
  ring: number;
}

/** This rank's [B, N/sp] piece of a global [dp·B, N] batch in the hybrid (U = 1: zigzag) layout. */
export function uspShardGlobalBatch(batch: TokenBatch, at: UspShardPosition): TokenBatch {
  if (batch.B % at.dp !== 0) throw new RangeError(`uspShardGlobalBatch: ${batch.B} rows do not split over data_parallel_size ${at.dp}`);
  const rows = batch.B / at.dp;
  return uspShard(batchRows(batch, at.dpRank * rows, rows), at.ulysses, at.ring, at.spRank);
}

export class UspBatchSource implements BatchSource {
  /** inner yields global batches of dp·B rows and N tokens. */
  constructor(private readonly inner: BatchSource, private readonly at: UspShardPosition) {}

  next(): TokenBatch {
    return uspShardGlobalBatch(this.inner.next(), this.at);
  }

  getState(): number {
    return this.inner.getState();
  }

  setState(state: number): void {
    this.inner.setState(state);
  }
}
