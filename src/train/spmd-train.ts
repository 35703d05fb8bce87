// The program every rank of a parallel training run executes (SPMD): its place in the dp × sp
// grid, the model with DistributedAttention over its sequence-parallel group, its shard of every
// batch, and the Trainer with gradients summed over dp × sp. Rank 0 alone prints and writes.
import { writeSync } from 'node:fs';
import { LocalAttention } from '../attention/local-attention.js';
import type { Communicator } from '../dist/communicator.js';
import { makeGrid, rankGroups } from '../dist/grid.js';
import { createModel } from '../nn/create-model.js';
import { DistributedAttention } from '../parallel/ulysses/distributed-attention.js';
import { loadCheckpoint } from './checkpoint.js';
import { worldSizeOf, threadsOf, type UlyssesConfig } from './config.js';
import { openCorpus } from './data/corpus.js';
import { splitTrainVal, validationBatches, WindowSampler } from './data/sampler.js';
import { ShardedBatchSource, shardGlobalBatch } from './data/sharded-source.js';
import { MemoryTokenSource, type TokenSource } from './data/token-source.js';
import { ConfigError } from './errors.js';
import { flopsPerToken } from './metrics.js';
import { checkedModelConfig, dataSeed, kernelsFor } from './run.js';
import { CollectiveSync } from './step-sync.js';
import { Trainer, type TrainResult } from './trainer.js';

/** Tokens the main thread read once and shares with every rank, or a corpus each rank opens. */
export type SharedCorpus =
  | { kind: 'memory'; tokens: Uint8Array | Uint16Array; vocabSize: number; documents: number; description: string }
  | { kind: 'path'; corpus: string };

export interface SpmdTrainArgs {
  config: UlyssesConfig;
  corpus: SharedCorpus;
  /** Checkpoint folder to resume from (each rank loads it), or null. */
  resumeDir: string | null;
  /** The run folder rank 0 writes metrics and checkpoints into. */
  runDir: string;
  peakFlops: number | null;
  /** Rank 0 prints progress lines unless quiet. */
  quiet: boolean;
}

/** Kernel and BLAS threads per rank so that ranks × threads stays within the threads budget. */
export function threadsPerRank(c: UlyssesConfig): number {
  return Math.max(1, Math.floor(threadsOf(c) / worldSizeOf(c)));
}

/**
 * Prints a line from a rank at once: a worker's console.log is flushed by its event loop, which a
 * synchronous training loop never yields to, so lines go straight to fd 1 (retrying a full pipe).
 */
export function printLine(line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(1, bytes, off);
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function openShared(corpus: SharedCorpus): TokenSource {
  if (corpus.kind === 'path') return openCorpus(corpus.corpus);
  return new MemoryTokenSource(corpus.tokens, corpus.vocabSize, corpus.documents, corpus.description);
}

export function main(comm: Communicator, args: SpmdTrainArgs): TrainResult | null {
  const c = args.config;
  const sp = c.sequence_parallel_size;
  const dp = c.data_parallel_size;
  if (comm.worldSize !== sp * dp) {
    throw new ConfigError(
      `the job has ${comm.worldSize} ranks but sequence_parallel_size (${sp}) x data_parallel_size (${dp}) = ${sp * dp}; ` +
        `launch ${sp * dp} ranks or choose sizes whose product is ${comm.worldSize}`,
    );
  }
  const groups = rankGroups(makeGrid({ dp, sp }), comm.rank);
  const leader = comm.rank === 0;
  const threads = threadsPerRank(c);
  const kernels = kernelsFor(c.train.kernels, threads);
  const mc = checkedModelConfig(c);
  const N = c.data.seq_len;
  const local = new LocalAttention(kernels);
  // With one sequence-parallel rank every all-to-all would be a self copy, so attention stays local.
  const distributed = sp > 1 ? new DistributedAttention(local, comm, groups.sp, { seqLen: N }) : null;
  const model = createModel(mc, { kernels, seed: c.seed, attention: distributed ?? local });
  const source = openShared(args.corpus);
  try {
    const split = splitTrainVal(source, c.data.val_fraction, N);
    const B = c.train_micro_batch_size_per_gpu;
    const at = { dpRank: groups.coords.dp, dp, spRank: groups.coords.sp, sp };
    // One stream of global batches for every rank: dp × B rows, of which this rank keeps its own.
    const sampler = new WindowSampler(source, split.train, N, dp * B, dataSeed(c.seed));
    const data = new ShardedBatchSource(sampler, at);
    // Validation batches hold dp × B rows like training batches, so every run sees the same set.
    const val = split.val
      ? validationBatches(source, split.val, N, dp * B, c.data.val_batches).map((b) => shardGlobalBatch(b, at))
      : null;
    const resume = args.resumeDir ? loadCheckpoint(args.resumeDir) : undefined;
    const log = leader && !args.quiet ? printLine : undefined;
    if (log) {
      const plan = distributed?.planFor(mc.n_heads, mc.n_kv_heads);
      const layout = plan
        ? `; per sequence-parallel rank: tokens ${plan.tokenCounts.join('/')}, query heads ${plan.heads.map((h) => h.count).join('/')}, ` +
          `kv heads ${plan.kv.map((h) => h.count).join('/')}`
        : '';
      log(`ranks: ${comm.worldSize} worker threads, ${threads} kernel/BLAS thread(s) each${layout}`);
    }
    const trainer = new Trainer({
      config: c, model, kernels, data, val, dataTokens: split.train.end, runDir: leader ? args.runDir : null,
      flopsPerToken: flopsPerToken(mc, model.params.numel, N), peakFlops: args.peakFlops,
      sync: new CollectiveSync(comm, groups.zero),
      ...(log ? { log } : {}),
      ...(resume ? { resume } : {}),
    });
    const result = trainer.run();
    return leader ? result : null;
  } finally {
    source.close();
  }
}
