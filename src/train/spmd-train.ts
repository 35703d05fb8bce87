// The program every rank of a parallel training run executes (SPMD), on either backend: its place
// in the dp × sp grid, the model with DistributedAttention over its sequence-parallel group, its
// shard of every batch, and the Trainer with gradients summed over dp × sp. Rank 0 alone prints
// and writes. Under mpi every rank is its own process, so it also checks that its config is rank
// 0's and, when asked, measures its share of the job's GEMM peak.
import { writeSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { LocalAttention } from '../attention/local-attention.js';
import type { Communicator } from '../dist/communicator.js';
import { makeGrid, rankGroups } from '../dist/grid.js';
import type { Kernels } from '../kernels/kernels.js';
import { createReferenceKernels } from '../kernels/reference/reference-kernels.js';
import { createModel, estimateActivationBytes } from '../nn/create-model.js';
import { ModelAttentionMask } from '../nn/attention-mask.js';
import { createMegatronSpTraining } from '../parallel/megatron-sp/create.js';
import { megatronSpActivationBytes } from '../parallel/megatron-sp/memory.js';
import { DistributedAttention } from '../parallel/ulysses/distributed-attention.js';
import { createUspAttention } from '../parallel/usp/usp-attention.js';
import { splitCounts } from '../parallel/ulysses/plan.js';
import { paramPadding } from '../parallel/zero/create.js';
import { modelAttentionOptions, usesDenseReference } from './attention-config.js';
import { loadCheckpoint } from './checkpoint.js';
import { configDifference, memoryOptionsOf, ringSizeOf, type UlyssesConfig } from './config.js';
import { openCorpus } from './data/corpus.js';
import { splitTrainVal } from './data/sampler.js';
import { ShardedBatchSource, shardGlobalBatch } from './data/sharded-source.js';
import { UspBatchSource, uspShardGlobalBatch } from './data/usp-source.js';
import { MemoryTokenSource, type TokenSource } from './data/token-source.js';
import { ConfigError } from './errors.js';
import { initFromHf } from './hf-import.js';
import { flopsPerToken } from './metrics.js';
import { measurePeakFlops } from './peak-flops.js';
import { teeToRunLog } from './run-log.js';
import { batchesFor } from './tasks/batches-for.js';
import { checkedModelConfig, dataSeed, kernelsFor, packOptions, runTokenizer } from './run.js';
import { CoreGate, gatedCommunicator } from './core-gate.js';
import { describePlacement, localRanks, placeRanks, type CoreCount, type TrainBackend } from './placement.js';
import { CollectiveSync } from './step-sync.js';
import { Trainer, type TrainResult } from './trainer.js';

/**
 * Tokens read once and handed to every rank (threads: in shared memory; mpi: this process's own
 * copy, read by every rank from the corpus path), or a corpus each rank opens itself.
 */
export type SharedCorpus =
  | { kind: 'memory'; tokens: Uint8Array | Uint16Array; vocabSize: number; documents: number; description: string }
  | { kind: 'path'; corpus: string };

export type { CoreCount, TrainBackend } from './placement.js';
export { localRanks };

export interface SpmdTrainArgs {
  config: UlyssesConfig;
  corpus: SharedCorpus;
  /** Checkpoint folder to resume from (each rank loads it), or null. */
  resumeDir: string | null;
  /** The run folder rank 0 writes metrics and checkpoints into (other ranks may pass ''). */
  runDir: string;
  /** The job's GEMM rate for MFU; 'measure': every rank times its share at once and the ranks sum them. */
  peakFlops: number | null | 'measure';
  /** Rank 0 prints progress lines unless quiet. */
  quiet: boolean;
  /** Which backend runs the ranks (default threads); decides how threads are split. */
  backend?: TrainBackend;
  /** Core tokens shared by the worker-thread ranks when fewer compute at once than there are (placement.ts). */
  coreGate?: SharedArrayBuffer | null;
}

/** What a rank returns: rank 0's run folder and the training result (threads: rank 0 only). */
export interface SpmdTrainResult {
  runDir: string;
  result: TrainResult;
}

/**
 * Kernel and BLAS threads per rank (placement.ts): train.threads is one machine's budget, shared by
 * the ranks that compute at once (threads backend: train.rank_concurrency of them; mpi: every
 * local rank). Under mpi, "auto" is the machine's cores over its ranks, and at most the cores
 * mpirun bound this rank to.
 */
export function threadsPerRank(
  c: UlyssesConfig, backend: TrainBackend = 'threads', env: NodeJS.ProcessEnv = process.env,
  cores: CoreCount = { machine: cpus().length, usable: availableParallelism() },
): number {
  return placeRanks(c, backend, env, cores).threads;
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

function openShared(corpus: SharedCorpus, c: UlyssesConfig): TokenSource {
  if (corpus.kind === 'path') return openCorpus(corpus.corpus, runTokenizer(c, checkedModelConfig(c)));
  return new MemoryTokenSource(corpus.tokens, corpus.vocabSize, corpus.documents, corpus.description);
}

/** Rank 0's text on every rank: its length, then its UTF-16 code units (exact, surrogates included). */
function shareText(comm: Communicator, text: string): string {
  const length = Float32Array.of(text.length);
  if (text.length >= 2 ** 24) throw new RangeError(`shareText: ${text.length} characters do not fit an fp32 count`);
  comm.broadcast(length, 0, comm.world);
  const codes = new Uint16Array(length[0] as number);
  if (comm.rank === 0) for (let i = 0; i < codes.length; i++) codes[i] = text.charCodeAt(i);
  comm.broadcast(codes, 0, comm.world);
  let out = '';
  for (let i = 0; i < codes.length; i += 8192) out += String.fromCharCode(...codes.subarray(i, i + 8192));
  return out;
}

/**
 * Every process of an mpi job resolved its own config from its own command line and files: a rank
 * whose config differs from rank 0's stops the job naming the key. Returns rank 0's run folder.
 */
function agreeWithRankZero(comm: Communicator, c: UlyssesConfig, runDir: string): string {
  const zero = JSON.parse(shareText(comm, JSON.stringify({ config: c, runDir }))) as { config: unknown; runDir: string };
  const diff = configDifference(c, zero.config);
  if (diff !== null) {
    throw new ConfigError(
      `rank ${comm.rank} was started with another config than rank 0: ${diff.path} is ${diff.mine} here and ${diff.theirs} on rank 0; ` +
        'give every process of the mpirun job the same command line and config file',
    );
  }
  return zero.runDir;
}

/**
 * The job's GEMM rate: every rank runs sgemm with its own threads for the same half second and the
 * sustained rates are summed, which counts each machine's cores once however the ranks are bound
 * to them (the best single call would overstate ranks that share cores: each has them alone now
 * and then).
 */
function measureJobPeak(comm: Communicator, kernels: Kernels, threads: number, log: ((line: string) => void) | undefined): number {
  const size = kernels.name === 'native' ? 1024 : 256;
  measurePeakFlops(kernels, size, 0); // one call, so page faults and BLAS start-up stay out of the window
  comm.barrier(comm.world);
  const p = measurePeakFlops(kernels, size, 0.5);
  const total = Float32Array.of((p.calls * 2 * size ** 3) / p.seconds);
  comm.allReduce(total, comm.world);
  const rate = total[0] as number;
  log?.(
    `peak: ${size}^3 sgemm with ${kernels.name} kernels, ${comm.worldSize} ranks x ${threads} threads at once: ` +
      `${(rate / 1e9).toFixed(1)} GFLOP/s in all (MFU is measured against this)`,
  );
  return rate;
}

export function main(comm: Communicator, args: SpmdTrainArgs): SpmdTrainResult | null {
  if (!args.coreGate) return trainRank(comm, args);
  // The rank computes only while it holds a core token, and hands it back on every wait for other ranks.
  const gate = new CoreGate(args.coreGate);
  gate.acquire();
  try {
    return trainRank(gatedCommunicator(comm, gate), args);
  } finally {
    gate.release();
  }
}

function trainRank(comm: Communicator, args: SpmdTrainArgs): SpmdTrainResult | null {
  const c = args.config;
  const backend = args.backend ?? 'threads';
  const sp = c.sequence_parallel_size;
  const dp = c.data_parallel_size;
  if (comm.worldSize !== sp * dp) {
    throw new ConfigError(
      `the job has ${comm.worldSize} ranks but sequence_parallel_size (${sp}) x data_parallel_size (${dp}) = ${sp * dp}; ` +
        `launch ${sp * dp} ranks or choose sizes whose product is ${comm.worldSize}`,
    );
  }
  const runDir = backend === 'mpi' ? agreeWithRankZero(comm, c, args.runDir) : args.runDir;
  // Modes ring and hybrid split sp into ring groups of `ring` members with Ulysses groups of sp / ring inside.
  const ring = ringSizeOf(c);
  const groups = rankGroups(makeGrid({ dp, sp, ring }), comm.rank);
  const leader = comm.rank === 0;
  // Rank 0 appends to the train.log its launcher opened, which waits for the ranks and so writes nothing meanwhile.
  const log = leader && !args.quiet ? teeToRunLog(printLine, runDir) : undefined;
  const placement = placeRanks(c, backend);
  const threads = placement.threads;
  const kernels = kernelsFor(c.train.kernels, threads);
  const peakFlops = args.peakFlops === 'measure' ? measureJobPeak(comm, kernels, threads, log) : args.peakFlops;
  const mc = checkedModelConfig(c);
  const N = c.data.seq_len;
  const local = new LocalAttention(usesDenseReference(c.attention) ? createReferenceKernels() : kernels);
  // With one sequence-parallel rank every all-to-all would be a self copy, so attention stays local.
  const wire = c.bf16.enabled ? 'bf16' : 'fp32';
  const mode = c.sequence_parallel.mode;
  const usp = sp > 1 && (mode === 'ring' || mode === 'hybrid')
    ? createUspAttention(usesDenseReference(c.attention) ? createReferenceKernels() : kernels, comm, groups, N, mc.n_heads, mc.n_kv_heads)
    : null;
  // Megatron-SP: the tensor-parallel model over the sp group, with its own model-state engine.
  const megatron = mode === 'megatron'
    ? createMegatronSpTraining(mc, {
      comm, groups, seqLen: N, kernels, seed: c.seed, hyper: c.optimizer.params, zeroStage: c.zero_optimization.stage,
      attention: local, mask: new ModelAttentionMask(modelAttentionOptions(c.attention, mc, N, c.seed, true)), memory: memoryOptionsOf(c),
    })
    : null;
  const distributed = sp > 1 && !usp && !megatron ? new DistributedAttention(local, comm, groups.sp, { seqLen: N, wire }) : null;
  const model = megatron?.model ?? createModel(mc, {
    kernels, seed: c.seed, attention: usp ?? distributed ?? local, padParamsTo: paramPadding(c.zero_optimization.stage, sp * dp),
    attentionMask: modelAttentionOptions(c.attention, mc, N, c.seed, distributed !== null || usp !== null),
    memory: memoryOptionsOf(c),
  });
  // Every rank loads the full weights before the Trainer's ZeRO engine takes its shard of them.
  const initFrom = c.train.init_from;
  if (initFrom !== null && args.resumeDir === null) {
    if (megatron) megatron.initFrom((full) => initFromHf(full, initFrom));
    else initFromHf(model, initFrom);
  }
  const source = openShared(args.corpus, c);
  try {
    const split = splitTrainVal(source, c.data.val_fraction, N);
    const B = c.train_micro_batch_size_per_gpu;
    const at = { dpRank: groups.coords.dp, dp, spRank: groups.coords.sp, sp };
    // One stream of global batches for every rank: dp × B rows, of which this rank keeps its own.
    // Document ids and positions are computed on the whole window, before it is sharded.
    const pack = packOptions(c, mc);
    const global = batchesFor(source, split, N, dp * B, dataSeed(c.seed), c.data, pack);
    // Ring and hybrid ranks hold zigzag pieces of every row instead of contiguous shards.
    const uspAt = usp ? { ...at, ulysses: sp / ring, ring } : null;
    const data = uspAt ? new UspBatchSource(global.data, uspAt) : new ShardedBatchSource(global.data, at);
    // Validation batches hold dp × B rows like training batches, so every run sees the same set.
    const val = global.val ? global.val.map((b) => (uspAt ? uspShardGlobalBatch(b, uspAt) : shardGlobalBatch(b, at))) : null;
    const resume = args.resumeDir ? loadCheckpoint(args.resumeDir) : undefined;
    if (log) {
      const plan = distributed?.planFor(mc.n_heads, mc.n_kv_heads);
      const layout = plan
        ? `; per sequence-parallel rank: tokens ${plan.tokenCounts.join('/')}, query heads ${plan.heads.map((h) => h.count).join('/')}, ` +
          `kv heads ${plan.kv.map((h) => h.count).join('/')}`
        : uspAt
          ? `; ${mode}: ulysses ${uspAt.ulysses} x ring ${ring}, zigzag chunks of ${N / (2 * ring)} tokens, ${N / sp} tokens per rank`
          : megatron
            ? `; megatron per rank: tokens ${megatron.model.seq.tokenCounts.join('/')}, heads ${mc.n_heads / sp}, MLP columns ${mc.d_ff / sp}`
            : '';
      const ranks = backend === 'mpi'
        ? `${comm.worldSize} MPI processes (${localRanks(backend, comm.worldSize)} on this machine)`
        : `${comm.worldSize} worker threads`;
      log(`ranks: ${ranks}, ${threads} kernel/BLAS thread(s) each${layout}`);
      log(describePlacement(placement));
    }
    const trainer = new Trainer({
      config: c, model, kernels, data, val, dataTokens: split.train.end, runDir: leader ? runDir : null,
      flopsPerToken: flopsPerToken(mc, megatron?.fullNumel ?? model.params.numel, N), peakFlops,
      sync: new CollectiveSync(comm, groups.zero), checkpointing: true,
      activationEstimate: megatron
        ? megatronSpActivationBytes(mc, B, N, sp, memoryOptionsOf(c))
        : estimateActivationBytes(mc, B * (splitCounts(N, sp)[0] as number), memoryOptionsOf(c)),
      ...(log ? { log } : {}),
      ...(resume ? { resume } : {}),
      ...(megatron ? { modelState: megatron.modelState } : {}),
    });
    const result = trainer.run();
    // A worker thread's result is copied to the main thread, which reads only rank 0's.
    return leader || backend === 'mpi' ? { runDir, result } : null;
  } finally {
    source.close();
    // Gives the all-to-alls' pooled shared buffers back to the communicator.
    distributed?.dispose();
  }
}
