// The SPMD program of the attention-variants benchmark (threads backend): one variant's forward and
// backward over N tokens, on one worker (LocalAttention over the whole sequence) or under Ulysses
// (DistributedAttention over this rank's shard). Ranks start each round together after a barrier;
// the round's time is this rank's wall time, and the driver keeps the slowest rank of the fastest round.
//
// Shape legend: n = tokens of this rank (N at P = 1), H = heads, D = head size.
import type { AttentionCore } from '../src/attention/attention-core.js';
import { LocalAttention } from '../src/attention/local-attention.js';
import type { Communicator } from '../src/dist/communicator.js';
import type { AttentionShape } from '../src/kernels/kernels.js';
import { createNativeKernels, setNativeThreads } from '../src/kernels/native/native-kernels.js';
import { DistributedAttention } from '../src/parallel/ulysses/distributed-attention.js';
import { splitCounts } from '../src/parallel/ulysses/plan.js';
import { attentionVariants } from './attention-variant-specs.js';
import { fillRandom, nowS } from './util.js';

export interface VariantArgs {
  readonly N: number;
  readonly H: number;
  readonly D: number;
  readonly blockSize: number;
  /** Index into attentionVariants(N, blockSize). */
  readonly variant: number;
  /** Kernel threads of the whole job, split over the ranks (at least one each). */
  readonly threads: number;
  /** Timed rounds after one warm-up round. */
  readonly reps: number;
}

export interface VariantRankResult {
  readonly rank: number;
  /** Seconds per timed round. */
  readonly fwdS: number[];
  readonly bwdS: number[];
  /** Rank 0 only: CPU seconds of the whole process (every rank) per round, between barriers. */
  readonly fwdCpuS: number[];
  readonly bwdCpuS: number[];
  /** Bytes this rank sent in one forward + backward. */
  bytesSent: number;
}

export function main(comm: Communicator, a: VariantArgs): VariantRankResult {
  const P = comm.worldSize;
  const t = Math.max(1, Math.floor(a.threads / P));
  setNativeThreads(t, t);
  const kernels = createNativeKernels();
  const variant = attentionVariants(a.N, a.blockSize)[a.variant];
  if (!variant) throw new RangeError(`attention-variants: no variant ${a.variant}`);
  const local = new LocalAttention(kernels);
  const core: AttentionCore = P > 1 ? new DistributedAttention(local, comm, comm.world, { seqLen: a.N }) : local;
  const n = splitCounts(a.N, P)[comm.rank] as number;
  const shape: AttentionShape = { B: 1, T: n, H: a.H, Hkv: a.H, D: a.D };
  const size = n * a.H * a.D;
  const [q, k, v, out, dout, dq, dk, dv] = Array.from({ length: 8 }, () => new Float32Array(size)) as [
    Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array,
  ]; // each [1, n, H, D]
  [q, k, v, dout].forEach((x, i) => fillRandom(x, 1 + i + 10 * comm.rank));
  const result: VariantRankResult = { rank: comm.rank, fwdS: [], bwdS: [], fwdCpuS: [], bwdCpuS: [], bytesSent: 0 };
  // Wall time suffers from other work on the machine; the process's CPU time between barriers
  // (every rank's work, communication copies included) does much less.
  const cpuS = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  for (let r = 0; r <= a.reps; r++) {
    comm.barrier(comm.world);
    comm.reset();
    const c0 = cpuS();
    const t0 = nowS();
    const saved = core.forward(out, q, k, v, shape, variant.mask);
    const t1 = nowS();
    comm.barrier(comm.world);
    const c1 = cpuS();
    const t1b = nowS();
    core.backward(dq, dk, dv, dout, saved);
    const t2 = nowS();
    comm.barrier(comm.world);
    const c2 = cpuS();
    result.bytesSent = comm.snapshot().total.bytesSent;
    if (r > 0) {
      result.fwdS.push(t1 - t0);
      result.bwdS.push(t2 - t1b);
      result.fwdCpuS.push(c1 - c0);
      result.bwdCpuS.push(c2 - c1);
    }
  }
  return result;
}
