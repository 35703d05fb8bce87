// Starts a training run on as many ranks as the config asks for. One rank trains in this thread;
// more run spmd-train.ts on worker threads (the threads backend): the main thread checks the
// config and data first, writes the run folder, measures the GEMM peak, shares the corpus, and
// then waits for the ranks, turning a failed rank's error back into the error it was.
import { launchThreads, RankFailedError } from '../dist/threads/launcher.js';
import { createReferenceKernels } from '../kernels/reference/reference-kernels.js';
import { createModel } from '../nn/create-model.js';
import { checkUlyssesSizes } from '../parallel/ulysses/plan.js';
import type { LoadedCheckpoint } from './checkpoint.js';
import { threadsOf, worldSizeOf, type UlyssesConfig } from './config.js';
import { MemoryTokenSource } from './data/token-source.js';
import { ConfigError, errorFromRank } from './errors.js';
import { kernelsFor, logRunHeader, measurePeak, openRunData, prepareRunDir, runTraining, type RunOptions, type RunOutcome } from './run.js';
import type { SharedCorpus, SpmdTrainArgs } from './spmd-train.js';
import type { TrainResult } from './trainer.js';

/** Copies in-memory tokens into shared memory so every rank reads one copy. */
function shareTokens(tokens: Uint8Array | Uint16Array): Uint8Array | Uint16Array {
  const shared = new SharedArrayBuffer(tokens.byteLength);
  const out = tokens instanceof Uint8Array ? new Uint8Array(shared) : new Uint16Array(shared);
  out.set(tokens);
  return out;
}

/** Trains with sequence_parallel_size × data_parallel_size ranks (one: in this thread). */
export async function launchTraining(c: UlyssesConfig, checkpoint: LoadedCheckpoint | null, opts: RunOptions = {}): Promise<RunOutcome> {
  const world = worldSizeOf(c);
  if (world === 1) return runTraining(c, checkpoint, opts);
  const log = opts.log ?? ((line: string): void => console.log(line));
  const d = openRunData(c, checkpoint);
  let corpus: SharedCorpus;
  let runDir: string;
  let peak: number | null = null;
  try {
    try {
      checkUlyssesSizes(c.sequence_parallel_size, c.data.seq_len, d.mc.n_heads, d.mc.n_kv_heads);
    } catch (err: unknown) {
      throw new ConfigError(`sequence_parallel_size: ${err instanceof Error ? err.message : String(err)}`);
    }
    const s = d.source;
    corpus = s instanceof MemoryTokenSource
      ? { kind: 'memory', tokens: shareTokens(s.tokens), vocabSize: s.vocabSize, documents: s.documents, description: s.description }
      : { kind: 'path', corpus: c.data.corpus };
    runDir = prepareRunDir(c, checkpoint);
    // A model on reference kernels only counts parameters; the ranks build their own.
    const numel = createModel(d.mc, { kernels: createReferenceKernels(), seed: c.seed }).params.numel;
    logRunHeader(log, c, d, numel, runDir, checkpoint);
    if (!opts.skipPeakMeasurement) {
      // The whole machine's rate, measured before the ranks start, since they share its cores.
      peak = measurePeak(kernelsFor(c.train.kernels, threadsOf(c)), threadsOf(c), log);
    }
  } finally {
    d.source.close();
  }
  const args: SpmdTrainArgs = {
    config: c, corpus, resumeDir: checkpoint ? checkpoint.dir : null, runDir, peakFlops: peak, quiet: opts.quiet ?? false,
  };
  let results: (TrainResult | null)[];
  try {
    results = await launchThreads<TrainResult | null>(world, new URL('./spmd-train.js', import.meta.url), args, {
      timeoutMs: 10 * 60_000,
    });
  } catch (err: unknown) {
    if (err instanceof RankFailedError) {
      const first = err.errors[err.rank];
      if (first) throw errorFromRank(first);
    }
    throw err;
  }
  const result = results[0];
  if (!result) throw new Error('launchTraining: rank 0 returned no result');
  return { runDir, result };
}
