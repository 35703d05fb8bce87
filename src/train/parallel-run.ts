// Starts a training run on as many ranks as the config asks for, on the backend it names. One rank
// trains in this thread. threads: this process starts the ranks as worker threads after checking
// the config and data, writing the run folder, measuring the GEMM peak and sharing the corpus.
// mpi: mpirun started one process per rank, and each runs this: every rank checks the config and
// its own copy of the data, rank 0 alone writes the run folder and prints, and then the process
// joins the job as its rank (a failing rank aborts every rank, so nothing hangs).
import { makeGrid } from '../dist/grid.js';
import { detectMpiLaunch, runSpmd } from '../dist/spmd.js';
import { RankFailedError } from '../dist/threads/launcher.js';
import { mpiBuildStatus } from '../kernels/native/mpi-binding.js';
import { createReferenceKernels } from '../kernels/reference/reference-kernels.js';
import { createModel } from '../nn/create-model.js';
import { checkUlyssesSizes } from '../parallel/ulysses/plan.js';
import type { LoadedCheckpoint } from './checkpoint.js';
import { threadsOf, worldSizeOf, type UlyssesConfig } from './config.js';
import { MemoryTokenSource } from './data/token-source.js';
import { ConfigError, errorFromRank, UserError } from './errors.js';
import { RunLog } from './run-log.js';
import { kernelsFor, logRunHeader, measurePeak, openRunData, prepareRunDir, runTraining, type RunOptions, type RunOutcome } from './run.js';
import { coreGateFor, placeRanks } from './placement.js';
import type { SharedCorpus, SpmdTrainArgs, SpmdTrainResult, TrainBackend } from './spmd-train.js';

/** How long a collective may wait for a slower rank (a checkpoint write, validation) before the job fails. */
const COLLECTIVE_TIMEOUT_MS = 10 * 60_000;

/** The backend a run uses: "auto" is mpi when mpirun started this process, else threads. */
export function resolveBackend(c: UlyssesConfig, env: NodeJS.ProcessEnv = process.env): TrainBackend {
  const b = c.train.backend;
  return b === 'auto' ? (detectMpiLaunch(env) ? 'mpi' : 'threads') : b;
}

/** This process's place in an mpirun job (size 1 without mpirun; size undefined when the launcher does not say). */
export function mpiLaunch(env: NodeJS.ProcessEnv = process.env): { rank: number; size: number | undefined } {
  if (!detectMpiLaunch(env)) return { rank: 0, size: 1 };
  const size = Number(env['OMPI_COMM_WORLD_SIZE']);
  const rank = Number(env['OMPI_COMM_WORLD_RANK'] ?? env['PMIX_RANK']);
  return { rank: Number.isInteger(rank) ? rank : 0, size: Number.isInteger(size) && size > 0 ? size : undefined };
}

/** Refuses a launch that cannot work, before any rank starts: the message says how to launch. */
export function checkLaunch(c: UlyssesConfig, backend: TrainBackend, env: NodeJS.ProcessEnv = process.env): void {
  const world = worldSizeOf(c);
  const sizes = `sequence_parallel_size (${c.sequence_parallel_size}) x data_parallel_size (${c.data_parallel_size}) = ${world}`;
  const job = mpiLaunch(env);
  if (backend === 'threads') {
    if (job.size !== undefined && job.size > 1) {
      throw new ConfigError(
        `train.backend is "threads", but this process is one of ${job.size} that mpirun started, which would train ${job.size} ` +
          `separate runs into one folder; pass --backend mpi (or auto) to make them the ${job.size} ranks of one run`,
      );
    }
    return;
  }
  if (job.size === undefined || job.size === world) return;
  if (!detectMpiLaunch(env)) {
    throw new ConfigError(
      `train.backend is "mpi" and ${sizes} ranks, but mpirun did not start this process; ` +
        `launch it with mpirun -np ${world} ulysses train ..., or use --backend threads to run the ranks as threads of one process`,
    );
  }
  throw new ConfigError(
    `${sizes} ranks, but mpirun started ${job.size} processes; launch with mpirun -np ${world}, ` +
      `or choose sizes whose product is ${job.size}`,
  );
}

/** Copies in-memory tokens into shared memory so every worker thread reads one copy. */
function shareTokens(tokens: Uint8Array | Uint16Array): Uint8Array | Uint16Array {
  const shared = new SharedArrayBuffer(tokens.byteLength);
  const out = tokens instanceof Uint8Array ? new Uint8Array(shared) : new Uint16Array(shared);
  out.set(tokens);
  return out;
}

/** Trains with sequence_parallel_size × data_parallel_size ranks (one: in this thread). */
export async function launchTraining(c: UlyssesConfig, checkpoint: LoadedCheckpoint | null, opts: RunOptions = {}): Promise<RunOutcome> {
  const backend = resolveBackend(c);
  checkLaunch(c, backend);
  const world = worldSizeOf(c);
  if (world === 1) return runTraining(c, checkpoint, opts);
  if (backend === 'mpi') {
    const status = mpiBuildStatus();
    if (!status.available) throw new UserError(`train.backend "mpi" cannot run: ${status.reason}`);
  }
  // Under mpi only rank 0 writes and prints; every rank still checks its own copy of the data.
  const leader = backend === 'threads' || mpiLaunch().rank === 0;
  // Only the leader opens train.log; until the ranks start, this thread is its one writer.
  const runLog = new RunLog(opts.log ?? ((line: string): void => console.log(line)));
  const log = runLog.log;
  const d = openRunData(c, checkpoint);
  let corpus: SharedCorpus;
  let runDir = '';
  let peak: number | null | 'measure' = null;
  try {
    try {
      checkUlyssesSizes(c.sequence_parallel_size, c.data.seq_len, d.mc.n_heads, d.mc.n_kv_heads);
    } catch (err: unknown) {
      throw new ConfigError(`sequence_parallel_size: ${err instanceof Error ? err.message : String(err)}`);
    }
    const s = d.source;
    // A rank of an mpi job is this very process, so it takes the tokens it read without a copy.
    corpus = s instanceof MemoryTokenSource
      ? {
        kind: 'memory', tokens: backend === 'threads' ? shareTokens(s.tokens) : s.tokens, vocabSize: s.vocabSize,
        documents: s.documents, description: s.description,
      }
      : { kind: 'path', corpus: c.data.corpus };
    if (leader) {
      runDir = prepareRunDir(c, checkpoint);
      runLog.open(runDir, checkpoint !== null);
      // A model on reference kernels only counts parameters; the ranks build their own.
      const numel = createModel(d.mc, { kernels: createReferenceKernels(), seed: c.seed }).params.numel;
      logRunHeader(log, c, d, numel, runDir, checkpoint);
    }
    if (!opts.skipPeakMeasurement) {
      // threads: the whole machine's rate, before the ranks share its cores; mpi: each machine's, summed by the ranks.
      peak = backend === 'mpi' ? 'measure' : measurePeak(kernelsFor(c.train.kernels, threadsOf(c)), threadsOf(c), log);
    }
  } finally {
    d.source.close();
  }
  const args: SpmdTrainArgs = {
    config: c, corpus, resumeDir: checkpoint ? checkpoint.dir : null, runDir, peakFlops: peak, quiet: opts.quiet ?? false, backend,
    coreGate: coreGateFor(placeRanks(c, backend)),
  };
  const grid = makeGrid({ dp: c.data_parallel_size, sp: c.sequence_parallel_size });
  let results: (SpmdTrainResult | null)[];
  try {
    results = await runSpmd<SpmdTrainResult | null>(
      { backend, world, grid, timeoutMs: COLLECTIVE_TIMEOUT_MS }, new URL('./spmd-train.js', import.meta.url), args,
    );
  } catch (err: unknown) {
    if (err instanceof RankFailedError) {
      const first = err.errors[err.rank];
      if (first) throw errorFromRank(first);
    }
    throw err;
  }
  // threads: every rank's result, of which rank 0's holds the run; mpi: this rank's own.
  const mine = results[0];
  if (!mine) throw new Error('launchTraining: rank 0 returned no result');
  return mine;
}
