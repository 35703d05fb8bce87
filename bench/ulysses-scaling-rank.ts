// The SPMD program of the Ulysses scaling benchmark (threads backend), in two modes:
//   volume: one DistributedAttention forward + backward of the reference model's attention shape
//           (H = 8, D = 32) over N tokens, with the bytes the accounting recorded per phase;
//   step:   training steps of the reference GPT with DistributedAttention (LocalAttention at P = 1):
//           forward, backward, gradient all-reduce over the group, AdamW, timed per phase.
import { LocalAttention } from '../src/attention/local-attention.js';
import type { AttentionCore } from '../src/attention/attention-core.js';
import type { Communicator } from '../src/dist/communicator.js';
import type { AttentionShape } from '../src/kernels/kernels.js';
import { createNativeKernels, setNativeThreads } from '../src/kernels/native/native-kernels.js';
import type { TokenBatch } from '../src/nn/causal-lm.js';
import { createModel } from '../src/nn/create-model.js';
import { DistributedAttention } from '../src/parallel/ulysses/distributed-attention.js';
import { makeUlyssesPlan } from '../src/parallel/ulysses/plan.js';
import { sequenceShard } from '../src/parallel/ulysses/shard-batch.js';
import { ulyssesAttentionBytes } from '../src/parallel/ulysses/volume.js';
import { AdamW } from '../src/train/optimizer.js';
import { referenceConfig } from './measure-train.js';
import { fillRandom } from './util.js';

export interface VolumeArgs {
  readonly mode: 'volume';
  readonly N: number;
  readonly H: number;
  readonly D: number;
  /** Kernel and BLAS threads of the whole job, split over the ranks. */
  readonly threads: number;
}

export interface StepArgs {
  readonly mode: 'step';
  readonly N: number;
  readonly warmup: number;
  readonly steps: number;
  readonly threads: number;
}

export interface VolumeResult {
  readonly rank: number;
  readonly fwdSent: number;
  readonly fwdReceived: number;
  readonly bwdSent: number;
  readonly bwdReceived: number;
  /** ulyssesAttentionBytes for this rank: the formula the tests check against. */
  readonly formula: { fwdSent: number; fwdReceived: number; bwdSent: number; bwdReceived: number };
  readonly allToAllCalls: number;
  readonly commMs: number;
  readonly totalMs: number;
}

export interface StepResult {
  readonly rank: number;
  readonly tokens: number;
  /** Per timed step, seconds. */
  readonly stepS: number[];
  readonly fwdS: number[];
  readonly bwdS: number[];
  /** Gradient all-reduce plus AdamW. */
  readonly syncOptS: number[];
  /** Time inside communicator calls per step (all-to-alls and the gradient all-reduce), seconds. */
  readonly commS: number[];
  /** The all-to-alls' share of commS (DistributedAttention), seconds. */
  readonly a2aS: number[];
  a2aBytesPerStep: number;
  /** Loss of every step (warm-up included), the group's mean over all N tokens. */
  readonly losses: number[];
  /** The model's own activation and scratch buffers (model.activationBytes()). */
  readonly modelActivationBytes: number;
  /** What the attention core keeps per layer until backward, times layers (qh, kh, vh, outh, lse or lse alone). */
  readonly attentionSavedBytes: number;
  /** Parameters, gradients and AdamW moments: four fp32 copies of the (replicated) parameters. */
  readonly modelStateBytes: number;
}

function threadsEach(total: number, P: number): number {
  return Math.max(1, Math.floor(total / P));
}

function volume(comm: Communicator, a: VolumeArgs): VolumeResult {
  const P = comm.worldSize;
  const me = comm.rank;
  const t = threadsEach(a.threads, P);
  setNativeThreads(t, t);
  const kernels = createNativeKernels();
  const core = new DistributedAttention(new LocalAttention(kernels), comm, comm.world, { seqLen: a.N });
  const plan = makeUlyssesPlan(P, a.N, a.H, a.H);
  const n = plan.tokenCounts[me] as number;
  const shape: AttentionShape = { B: 1, T: n, H: a.H, Hkv: a.H, D: a.D };
  const size = n * a.H * a.D; // [1, n, H, D]
  const [q, k, v, out, dout, dq, dk, dv] = Array.from({ length: 8 }, () => new Float32Array(size));
  [q, k, v, dout].forEach((x, i) => fillRandom(x as Float32Array, 1 + i + 10 * me));
  comm.barrier(comm.world);
  comm.reset();
  const t0 = performance.now();
  const saved = core.forward(out as Float32Array, q as Float32Array, k as Float32Array, v as Float32Array, shape, { causal: true, docIds: null });
  const fwd = comm.snapshot().total;
  core.backward(dq as Float32Array, dk as Float32Array, dv as Float32Array, dout as Float32Array, saved);
  const totalMs = performance.now() - t0;
  const all = comm.snapshot();
  const f = ulyssesAttentionBytes(plan, me, 1, a.D, false);
  return {
    rank: me,
    fwdSent: fwd.bytesSent, fwdReceived: fwd.bytesReceived,
    bwdSent: all.total.bytesSent - fwd.bytesSent, bwdReceived: all.total.bytesReceived - fwd.bytesReceived,
    formula: { fwdSent: f.forward.sent, fwdReceived: f.forward.received, bwdSent: f.backward.sent, bwdReceived: f.backward.received },
    allToAllCalls: (all.byOp.allToAll?.calls ?? 0) + (all.byOp.allToAllV?.calls ?? 0),
    commMs: all.total.timeMs, totalMs,
  };
}

/** A deterministic byte-level batch [1, N] with shifted targets and global positions. */
function fullBatch(N: number): TokenBatch {
  const stream = new Int32Array(N + 1);
  let s = 12345;
  for (let i = 0; i <= N; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    stream[i] = s >>> 24;
  }
  const positions = new Int32Array(N);
  for (let i = 0; i < N; i++) positions[i] = i;
  return { B: 1, T: N, tokens: stream.slice(0, N), targets: stream.slice(1), positions, docIds: null };
}

function step(comm: Communicator, a: StepArgs): StepResult {
  const P = comm.worldSize;
  const me = comm.rank;
  const t = threadsEach(a.threads, P);
  setNativeThreads(t, t);
  const kernels = createNativeKernels();
  const config = referenceConfig(a.N);
  const local = new LocalAttention(kernels);
  // One rank needs no all-to-all: attention stays local, as the trainer does at sp = 1.
  const core: AttentionCore = P > 1 ? new DistributedAttention(local, comm, comm.world, { seqLen: a.N }) : local;
  const model = createModel(config, { kernels, seed: 1, attention: core });
  const adamw = new AdamW(kernels, model.params, { betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1 });
  const batch = sequenceShard(fullBatch(a.N), P, me);
  const r: StepResult = {
    rank: me, tokens: batch.T, stepS: [], fwdS: [], bwdS: [], syncOptS: [], commS: [], a2aS: [], a2aBytesPerStep: 0, losses: [],
    modelActivationBytes: 0, attentionSavedBytes: 0, modelStateBytes: 4 * 4 * model.params.numel,
  };
  const lossBuf = new Float32Array(1);
  for (let s = 0; s < a.warmup + a.steps; s++) {
    comm.barrier(comm.world);
    comm.reset();
    const t0 = performance.now();
    model.params.zeroGrads();
    const out = model.forward(batch);
    const t1 = performance.now();
    model.backward(1 / a.N);
    const t2 = performance.now();
    if (P > 1) comm.allReduce(model.params.grads, comm.world);
    adamw.update(1e-3, 1);
    const t3 = performance.now();
    const snap = comm.snapshot();
    lossBuf[0] = out.lossSum;
    if (P > 1) comm.allReduce(lossBuf, comm.world);
    r.losses.push((lossBuf[0] as number) / a.N);
    if (s < a.warmup) continue;
    r.stepS.push((t3 - t0) / 1e3);
    r.fwdS.push((t1 - t0) / 1e3);
    r.bwdS.push((t2 - t1) / 1e3);
    r.syncOptS.push((t3 - t2) / 1e3);
    r.commS.push(snap.total.timeMs / 1e3);
    r.a2aS.push(((snap.byOp.allToAll?.timeMs ?? 0) + (snap.byOp.allToAllV?.timeMs ?? 0)) / 1e3);
    r.a2aBytesPerStep = (snap.byOp.allToAll?.bytesSent ?? 0) + (snap.byOp.allToAllV?.bytesSent ?? 0);
  }
  const { n_layers: L, n_heads: H, d_model: C } = config;
  const D = C / H;
  const m = P > 1 ? (makeUlyssesPlan(P, a.N, H, H).heads[me]?.count ?? 0) : H;
  // DistributedAttention keeps the head-sharded q, k, v, out of the whole sequence and the row lse; LocalAttention only lse.
  const perLayer = P > 1 ? 4 * a.N * m * D + a.N * m : a.N * H;
  return { ...r, modelActivationBytes: model.activationBytes(), attentionSavedBytes: 4 * L * perLayer };
}

export function main(comm: Communicator, args: VolumeArgs | StepArgs): VolumeResult | StepResult {
  return args.mode === 'volume' ? volume(comm, args) : step(comm, args);
}
