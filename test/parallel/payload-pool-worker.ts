// Program every rank runs in payload-pool.test.ts: DistributedAttention with and without its
// buffer pool over several steps of a two-layer schedule (forward 0, forward 1, backward 1,
// backward 0, with the staged beginKV / beginBackward calls), once more with layer 1's forward
// replayed before its backward as activation checkpointing does. It records which all-to-all send
// buffers were pooled shared ones, the pool's size after each step, and whether the pooled and
// unpooled results are bit-identical. `hideShared` runs it on a communicator without allocShared
// (as MPI is).
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { Communicator, Payload } from '../../src/dist/communicator.js';
import type { AttentionShape } from '../../src/kernels/kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { makeUlyssesPlan } from '../../src/parallel/ulysses/plan.js';
import type { WirePoolStats } from '../../src/parallel/ulysses/payload-pool.js';
import type { WireDtype } from '../../src/parallel/ulysses/wire.js';
import { randomArray } from '../helpers.js';

export interface PoolCase {
  readonly B: number;
  readonly N: number;
  readonly H: number;
  readonly Hkv: number;
  readonly D: number;
  readonly wire: WireDtype;
  readonly hideShared: boolean;
}

export interface PoolResult {
  readonly label: string;
  /** Per step: for each all-to-all in start order, whether its send buffer was a pooled shared buffer. */
  readonly sharedSends: boolean[][];
  /** The pool after each step. */
  readonly stats: WirePoolStats[];
  readonly identical: boolean;
}

/** A communicator that notes each all-to-all's send buffer, optionally without allocShared. */
function watchingComm(comm: Communicator, sends: Payload[], hideShared: boolean): Communicator {
  return new Proxy(comm, {
    get(target, prop) {
      if (hideShared && (prop === 'allocShared' || prop === 'freeShared')) return undefined;
      if (prop === 'allToAllAsync' || prop === 'allToAllVAsync') {
        const f = Reflect.get(target, prop, target) as (...a: unknown[]) => unknown;
        return (...a: unknown[]) => {
          sends.push(a[0] as Payload);
          return f.apply(target, a);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

interface Layer {
  q: Float32Array; // [B, n, H, D]
  k: Float32Array; // [B, n, Hkv, D]
  v: Float32Array; // [B, n, Hkv, D]
  dout: Float32Array; // [B, n, H, D]
}

/** Outputs and gradients of every layer and step, concatenated. */
function runSteps(
  attn: DistributedAttention, layers: Layer[], shape: AttentionShape, steps: number, replay: boolean,
  sends: Payload[], onStep: (sends: Payload[]) => void,
): Float32Array[] {
  const got: Float32Array[] = [];
  const mask = { causal: true, docIds: null };
  for (let s = 0; s < steps; s++) {
    sends.length = 0;
    const saved = layers.map((l) => {
      const out = new Float32Array(l.q.length); // [B, n, H, D]
      attn.beginKV(l.k, l.v, shape, mask);
      const sv = attn.forward(out, l.q, l.k, l.v, shape, mask);
      got.push(out);
      return sv;
    });
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i] as Layer;
      // A checkpointed layer drops its first forward's state and replays the forward before backward.
      const sv = replay ? attn.forward(new Float32Array(l.q.length), l.q, l.k, l.v, shape, mask) : saved[i]!;
      const dq = new Float32Array(l.q.length); // [B, n, H, D]
      const dk = new Float32Array(l.k.length); // [B, n, Hkv, D]
      const dv = new Float32Array(l.v.length); // [B, n, Hkv, D]
      attn.beginBackward(l.dout, sv);
      attn.backward(dq, dk, dv, l.dout, sv);
      got.push(dq, dk, dv);
    }
    onStep([...sends]);
  }
  return got;
}

export function main(comm: Communicator, args: { cases: PoolCase[]; steps: number }): PoolResult[] {
  const kernels = createReferenceKernels();
  const results: PoolResult[] = [];
  for (const c of args.cases) {
    const { B, N, H, Hkv, D } = c;
    const plan = makeUlyssesPlan(comm.worldSize, N, H, Hkv);
    const n = plan.tokenCounts[comm.rank] as number;
    const shape: AttentionShape = { B, T: n, H, Hkv, D };
    const layers: Layer[] = [0, 1].map((i) => ({
      q: randomArray(B * n * H * D, 100 * i + 10 * comm.rank + 1),
      k: randomArray(B * n * Hkv * D, 100 * i + 10 * comm.rank + 2),
      v: randomArray(B * n * Hkv * D, 100 * i + 10 * comm.rank + 3),
      dout: randomArray(B * n * H * D, 100 * i + 10 * comm.rank + 4),
    }));
    for (const replay of [false, true]) {
      const sends: Payload[] = [];
      const watched = watchingComm(comm, sends, c.hideShared);
      const pooled = new DistributedAttention(new LocalAttention(kernels), watched, comm.world, { seqLen: N, wire: c.wire });
      const fresh = new DistributedAttention(new LocalAttention(kernels), watched, comm.world, { seqLen: N, wire: c.wire, pool: false });
      const sharedSends: boolean[][] = [];
      const stats: WirePoolStats[] = [];
      const a = runSteps(pooled, layers, shape, args.steps, replay, sends, (s) => {
        sharedSends.push(s.map((b) => pooled.isPooledShared(b)));
        stats.push(pooled.poolStats());
      });
      const b = runSteps(fresh, layers, shape, args.steps, replay, sends, () => {});
      const identical = a.length === b.length && a.every((x, i) => {
        const y = b[i] as Float32Array;
        return x.length === y.length && x.every((e, j) => Object.is(e, y[j]));
      });
      pooled.dispose();
      const label = `B=${B} N=${N} H=${H}/${Hkv} ${c.wire}${c.hideShared ? ' no-allocShared' : ''}${replay ? ' replayed' : ''}`;
      results.push({ label, sharedSends, stats, identical });
      if (pooled.poolStats().buffers !== 0) throw new Error(`${label}: dispose left ${pooled.poolStats().buffers} buffers`);
    }
  }
  return results;
}
