// Shared scaffolding of the programs that test/mpi/mpi.test.ts runs under mpirun: every rank runs
// `body`, an uncaught error on any rank aborts the whole job (nonzero status, nothing hangs), and a
// rank that finishes prints one `ok` line the test counts.
import { loadMpiBinding, type MpiBinding } from '../../src/kernels/native/mpi-binding.js';

export interface RankContext {
  mpi: MpiBinding;
  rank: number;
  size: number;
  /** Counts one passed check; the total is printed at the end. */
  ok(): void;
}

export async function runRanks(name: string, body: (ctx: RankContext) => void | Promise<void>): Promise<void> {
  const mpi = loadMpiBinding();
  let rank = -1;
  const die = (err: unknown): never => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${name}: rank ${rank} failed: ${text}\n`);
    return mpi.mpiAbort(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  const info = mpi.mpiInit();
  rank = info.rank;
  let checks = 0;
  await body({ mpi, rank: info.rank, size: info.size, ok: () => void checks++ });
  mpi.mpiFinalize();
  process.stdout.write(`${name}: ok rank=${info.rank} size=${info.size} threadLevel=${info.threadLevel} checks=${checks}\n`);
}

/** Int32Array of f(j) for every rank j. */
export function perRank(size: number, f: (j: number) => number): Int32Array {
  return Int32Array.from({ length: size }, (_, j) => f(j));
}

/** Exclusive prefix sums: packed displacements of counts. */
export function packed(counts: Int32Array): Int32Array {
  const out = new Int32Array(counts.length);
  for (let j = 1; j < counts.length; j++) out[j] = (out[j - 1] as number) + (counts[j - 1] as number);
  return out;
}

export function total(counts: Int32Array): number {
  return counts.reduce((a, b) => a + b, 0);
}

/** bf16 bit pattern of a float32 value that bf16 represents exactly (small integers, halves). */
export function bf16(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer)[0] as number;
  if ((bits & 0xffff) !== 0) throw new Error(`bf16(${x}): not exactly representable`);
  return bits >>> 16;
}

export function fromBf16(h: number): number {
  return new Float32Array(new Uint32Array([h << 16]).buffer)[0] as number;
}
