// Program every rank runs in overlap.test.ts: one GPT-2 block and one Llama layer, forward and
// backward, under DistributedAttention with the communicator and the kernels wrapped in recording
// proxies that share one event log, so the test can check what overlaps what. Each block also runs
// with the core's staged methods hidden, and the two runs' outputs and gradients are compared.
import type { AttentionCore } from '../../src/attention/attention-core.js';
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { CommHandle, Communicator } from '../../src/dist/communicator.js';
import { makeGroup } from '../../src/dist/group.js';
import type { AttentionShape, Kernels } from '../../src/kernels/kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import {
  allocGptBlockActs, allocGptBlockScratch, gpt_block_backward, gpt_block_forward, type GptBlockWeights,
} from '../../src/nn/gpt-block.js';
import {
  allocLlamaBlockActs, allocLlamaBlockScratch, llama_block_backward, llama_block_forward, type LlamaBlockWeights,
} from '../../src/nn/llama-block.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { randomArray } from '../helpers.js';

/** One block's events on this rank, e.g. 'a2a-start 0', 'a2a-wait 0', 'sgemm q', 'sgemm other'. */
export interface OverlapResult {
  readonly block: 'gpt' | 'llama';
  /** Query heads per kv head: 1 for GPT-2, 2 for the Llama layer. */
  readonly group: number;
  readonly forward: string[];
  readonly backward: string[];
  /** Elements each all-to-all sent, by start order. */
  readonly a2aSizes: number[];
  /** Whether the staged and the unstaged runs gave bit-identical outputs and gradients. */
  readonly identical: boolean;
}

/** A communicator that logs the start and the wait of every all-to-all. */
function recordingComm(comm: Communicator, log: string[], sizes: number[]): Communicator {
  const track = (h: CommHandle, len: number): CommHandle => {
    const id = sizes.length;
    sizes.push(len);
    log.push(`a2a-start ${id}`);
    return {
      wait: () => h.wait().then(() => void log.push(`a2a-wait ${id}`)),
      waitSync: () => { h.waitSync(); log.push(`a2a-wait ${id}`); },
      test: () => h.test(),
    };
  };
  return new Proxy(comm, {
    get(target, prop) {
      if (prop === 'allToAllAsync') {
        return (send: Float32Array, recv: Float32Array, g: Communicator['world']) => track(target.allToAllAsync(send, recv, g), send.length);
      }
      if (prop === 'allToAllVAsync') {
        return (send: Float32Array, sc: number[], recv: Float32Array, rc: number[], g: Communicator['world']) =>
          track(target.allToAllVAsync(send, sc, recv, rc, g), send.length);
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Kernels that log every sgemm, named by its output buffer when it is one of `named`. */
function recordingKernels(k: Kernels, log: string[], named: Map<Float32Array, string>): Kernels {
  return new Proxy(k, {
    get(target, prop) {
      if (prop === 'sgemm') {
        return (...args: Parameters<Kernels['sgemm']>) => {
          log.push(`sgemm ${named.get(args[11]) ?? 'other'}`);
          target.sgemm(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The core with its staged methods hidden, as a block sees a local core. */
function unstaged(core: AttentionCore): AttentionCore {
  return { forward: core.forward.bind(core), backward: core.backward.bind(core) };
}

function equal(a: Float32Array[], b: Float32Array[]): boolean {
  return a.every((x, i) => {
    const y = b[i] as Float32Array;
    return x.length === y.length && x.every((e, j) => Object.is(e, y[j]));
  });
}

export function main(comm: Communicator, _args: unknown): OverlapResult[] {
  const P = comm.worldSize;
  const group = makeGroup('sp', Array.from({ length: P }, (_, r) => r), comm.rank);
  const B = 2;
  const H = 4;
  const D = 4;
  const C = H * D;
  const F = 2 * C;
  const Nseq = 6 * P;
  const T = Nseq / P;
  const N = B * T;
  const mask = { causal: true, docIds: null };
  const inp = randomArray(N * C, 100 + comm.rank);
  const dout = randomArray(N * C, 200 + comm.rank);
  const pos = Int32Array.from({ length: N }, (_, i) => comm.rank * T + (i % T));
  const results: OverlapResult[] = [];

  for (const block of ['gpt', 'llama'] as const) {
    const Hkv = block === 'gpt' ? H : H / 2;
    const shape: AttentionShape = { B, T, H, Hkv, D };
    const runs: Float32Array[][] = [];
    let recorded: OverlapResult | null = null;
    for (const staged of [true, false]) {
      const log: string[] = [];
      const sizes: number[] = [];
      const named = new Map<Float32Array, string>();
      const kernels = recordingKernels(createReferenceKernels(), log, named);
      const dist = new DistributedAttention(new LocalAttention(kernels), recordingComm(comm, log, sizes), group, { seqLen: Nseq });
      const core = staged ? dist : unstaged(dist);
      const dres = dout.slice();
      let forward: string[];
      let grads: Float32Array[];
      let out: Float32Array;
      if (block === 'gpt') {
        const sizesOf: Record<keyof GptBlockWeights, number> = {
          ln1w: C, ln1b: C, qkvw: C * 3 * C, qkvb: 3 * C, attprojw: C * C, attprojb: C,
          ln2w: C, ln2b: C, fcw: C * F, fcb: F, fcprojw: F * C, fcprojb: C,
        };
        const w = Object.fromEntries(Object.entries(sizesOf).map(([n, len], i) => [n, randomArray(len, 10 + i, 0.3)])) as unknown as GptBlockWeights;
        const g = Object.fromEntries(Object.entries(sizesOf).map(([n, len]) => [n, new Float32Array(len)])) as unknown as GptBlockWeights;
        const a = allocGptBlockActs(N, C, F);
        named.set(a.q, 'q').set(g.attprojw, 'oproj-dw');
        const dims = { shape, C, F, eps: 1e-5 };
        gpt_block_forward(kernels, core, w, a, inp, dims, mask);
        forward = log.splice(0);
        gpt_block_backward(kernels, core, w, g, a, allocGptBlockScratch(N, C, F), dres, inp, dims);
        grads = Object.values(g);
        out = a.resOut;
      } else {
        const KV = Hkv * D;
        const sizesOf: Record<keyof LlamaBlockWeights, number> = {
          ln1w: C, qw: C * C, kw: KV * C, vw: KV * C, ow: C * C, ln2w: C, gatew: F * C, upw: F * C, downw: C * F,
        };
        const w = Object.fromEntries(Object.entries(sizesOf).map(([n, len], i) => [n, randomArray(len, 30 + i, 0.3)])) as unknown as LlamaBlockWeights;
        const g = Object.fromEntries(Object.entries(sizesOf).map(([n, len]) => [n, new Float32Array(len)])) as unknown as LlamaBlockWeights;
        const a = allocLlamaBlockActs(N, C, KV, F);
        named.set(a.q, 'q').set(g.ow, 'oproj-dw');
        const dims = { shape, C, F, eps: 1e-5, theta: 10000 };
        llama_block_forward(kernels, core, w, a, inp, pos, dims, mask);
        forward = log.splice(0);
        llama_block_backward(kernels, core, w, g, a, allocLlamaBlockScratch(N, C, KV, F), dres, inp, pos, dims);
        grads = Object.values(g);
        out = a.resOut;
      }
      runs.push([out, dres, ...grads]);
      if (staged) recorded = { block, group: H / Hkv, forward, backward: log.slice(), a2aSizes: sizes, identical: false };
    }
    results.push({ ...(recorded as OverlapResult), identical: equal(runs[0] as Float32Array[], runs[1] as Float32Array[]) });
  }
  return results;
}
