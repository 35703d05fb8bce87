// One layout of one request: memory per GPU, communication per GPU per step by link, step time,
// TFLOPs, MFU and whether it fits. The per-layer communication is the engine's own formulas
// (parallel/*/volume.ts) at bf16; the ZeRO schedule and the activation buffers are the engine's too.
//
// Overlap assumptions: Ulysses all-to-alls and Megatron-SP all-gathers / reduce-scatters sit on
// the critical path (as in the paper's runs); ring attention's hops overlap the same layer's
// attention compute (only the excess shows); ZeRO collectives overlap the whole step (prefetched
// gathers, bucketed reduce-scatters), so step = max(compute + exposed SP comm, ZeRO comm).
// Checkpointing repeats every layer's forward communication.
import { commBytes } from '../dist/accounting.js';
import { evenCounts } from '../dist/collective-args.js';
import type { ModelStateMemory } from '../parallel/zero/engine.js';
import { makeUlyssesPlan } from '../parallel/ulysses/plan.js';
import { GPU_BF16_ACTIVATIONS, modelActivationBytes, type ActivationOptions } from './activation-memory.js';
import { computeSeconds, megatronFormulaFlops, stepFlops } from './compute.js';
import type { Layout } from './layouts.js';
import { modelUnits } from './model-source.js';
import type { PlanRequest } from './request.js';
import { sequenceLayerBytes } from './sequence-volume.js';
import { GPU_MIXED_PRECISION, modelStateBytes, stateTotal } from './state-memory.js';
import { addTraffic, allToAllTraffic, ringTraffic, scaleTraffic, strided, type LinkTraffic, type Topology } from './topology.js';
import { zeroStepBytes } from './zero-volume.js';

/** Bytes per element the planner moves and stores activations in on GPUs (bf16). */
const BPE = 2;

export type ActivationMode = 'none' | 'tiling' | 'checkpointing' | 'checkpointing+tiling';
const MODES: readonly ActivationMode[] = ['none', 'tiling', 'checkpointing', 'checkpointing+tiling'];
const optionsOf = (m: ActivationMode): ActivationOptions => ({ checkpointing: m.startsWith('checkpointing'), tiling: m.endsWith('tiling') });

export interface LayoutEstimate {
  readonly layout: Layout;
  /** Sequences per data-parallel replica per step. */
  readonly microBatch: number;
  readonly states: ModelStateMemory;
  /** Activation bytes per GPU under each mode. */
  readonly activations: Readonly<Record<ActivationMode, number>>;
  /** The mode the time and the fit are for. */
  readonly mode: ActivationMode;
  readonly memory: number;
  readonly usable: number;
  readonly fits: boolean;
  /** Bytes sent per GPU per step. */
  readonly sequenceComm: LinkTraffic;
  readonly zeroComm: LinkTraffic;
  readonly computeSeconds: number;
  /** SP communication on the critical path. */
  readonly exposedCommSeconds: number;
  readonly stepSeconds: number;
  readonly tokensPerSecondPerGpu: number;
  /** Model TFLOP/s per GPU (no recompute, causal attention) and MFU against the GPU's peak. */
  readonly tflops: number;
  readonly mfu: number;
  /** TFLOP/s per GPU by Megatron-DeepSpeed's counter, the unit of the paper's figures. */
  readonly paperTflops: number;
}

interface LayerComm {
  /** On the critical path, one layer forward / backward. */
  exposedFwd: LinkTraffic;
  exposedBwd: LinkTraffic;
  /** Overlapped with the layer's attention compute. */
  ringFwd: LinkTraffic;
  ringBwd: LinkTraffic;
  /** Attention-core bytes each layer keeps, and transient bytes of one layer's exchange. */
  keptPerLayer: number;
  working: number;
}

const ZERO: LinkTraffic = { intra: 0, inter: 0, seconds: 0 };

function layerComm(r: PlanRequest, l: Layout, t: Topology): LayerComm {
  const c = r.model;
  const B = r.microBatch;
  const N = r.seq;
  const H = c.n_heads;
  const D = c.d_model / H;
  const v = sequenceLayerBytes(c, B, N, l, BPE);
  const lse = (tokens: number, heads: number): number => B * tokens * heads * 4; // fp32 log-sum-exp per query row
  // q, k, v and the output in head layout, kept by the local attention for backward.
  const headCopies = (P: number, n: number): { kept: number; kvHeads: number } => {
    const plan = makeUlyssesPlan(P, n, H, c.n_kv_heads);
    const m = (plan.heads[0] as { count: number }).count;
    const map = plan.kvMaps[0] as { uniform: boolean; kvOf: readonly number[] };
    const kv = map.uniform ? (plan.kv[0] as { count: number }).count : map.kvOf.length;
    return { kept: B * n * (2 * m + 2 * kv) * D * BPE + lse(n, m), kvHeads: kv };
  };
  // Ring backward holds the k,v block in use and the one arriving, and the same two of dk,dv.
  const ringWorking = (n: number, kvHeads: number): number => 4 * 2 * B * n * kvHeads * D * BPE;
  const sp = strided(0, l.sp, 1);
  const a2a = (g: number[]): Pick<LayerComm, 'exposedFwd' | 'exposedBwd'> => ({
    exposedFwd: allToAllTraffic(g, v.collective.forward, t), exposedBwd: allToAllTraffic(g, v.collective.backward, t),
  });
  const hops = (g: number[]): Pick<LayerComm, 'ringFwd' | 'ringBwd'> => ({
    ringFwd: ringTraffic(g, v.ring.forward, t), ringBwd: ringTraffic(g, v.ring.backward, t),
  });
  const quiet = { exposedFwd: ZERO, exposedBwd: ZERO, ringFwd: ZERO, ringBwd: ZERO, working: 0 };
  switch (l.strategy) {
    case 'dp-only':
      return { ...quiet, keptPerLayer: lse(N, H) };
    case 'ulysses':
      return { ...quiet, ...a2a(sp), keptPerLayer: headCopies(l.sp, N).kept };
    case 'megatron-sp': {
      // The all-gathered inputs of the qkv and fc projections are kept whole ([B, N, C] each).
      const gathered = 2 * B * (N - Math.ceil(N / l.sp)) * c.d_model * BPE;
      return {
        ...quiet, keptPerLayer: gathered + lse(N, H / l.sp),
        exposedFwd: ringTraffic(sp, v.collective.forward, t), exposedBwd: ringTraffic(sp, v.collective.backward, t),
      };
    }
    case 'ring':
      return { ...quiet, ...hops(sp), keptPerLayer: lse(N / l.ring, H), working: ringWorking(N / l.ring, c.n_kv_heads) };
    case 'hybrid': {
      const n = N / l.ring;
      const copies = headCopies(l.ulysses, n);
      return {
        ...a2a(strided(0, l.ulysses, 1)), ...hops(strided(0, l.ring, l.ulysses)),
        keptPerLayer: copies.kept, working: ringWorking(n, copies.kvHeads),
      };
    }
  }
}

export function topologyOf(r: PlanRequest): Topology {
  return {
    gpusPerNode: r.gpusPerNode,
    nvlinkBytesPerS: r.gpu.nvlinkBytesPerS * r.efficiency.bandwidth,
    ibBytesPerS: r.network.bytesPerSPerGpu * r.efficiency.bandwidth,
  };
}

export function evaluateLayout(r: PlanRequest, l: Layout): LayoutEstimate {
  const c = r.model;
  const t = topologyOf(r);
  const lc = layerComm(r, l, t);
  // Megatron-SP splits every block's weights over its tensor-parallel group (the embeddings, final
  // norm and head stay whole, as in the engine's TpLayout) and runs ZeRO over dp only; the others
  // run ZeRO over all dp × sp ranks.
  const tp = l.strategy === 'megatron-sp' ? l.sp : 1;
  const units = modelUnits(c).map((u, i) => (i === 0 ? u : Math.ceil(u / tp)));
  const zeroGroup = tp > 1 ? strided(0, l.dp, tp) : strided(0, r.gpus, 1);
  const states = modelStateBytes(r.zero, units, zeroGroup.length, GPU_MIXED_PRECISION);
  const tokens = r.microBatch * Math.ceil(r.seq / l.sp);
  const acts = {} as Record<ActivationMode, number>;
  for (const m of MODES) acts[m] = modelActivationBytes(c, tokens, GPU_BF16_ACTIVATIONS, optionsOf(m), lc.keptPerLayer).total + lc.working;
  const usable = r.gpu.memoryBytes * (1 - r.memoryReserve);
  const stateBytes = stateTotal(states);
  const candidates = r.checkpointing === 'on' ? MODES.filter((m) => m.startsWith('checkpointing')) : MODES;
  const mode = candidates.find((m) => stateBytes + acts[m] <= usable) ?? (candidates[candidates.length - 1] as ActivationMode);
  const o = optionsOf(mode);
  const memory = stateBytes + acts[mode];

  const L = c.n_layers;
  const passes = o.checkpointing ? 2 : 1; // forward passes per layer
  const exposed = addTraffic(scaleTraffic(lc.exposedFwd, L * passes), scaleTraffic(lc.exposedBwd, L));
  const ring = addTraffic(scaleTraffic(lc.ringFwd, L * passes), scaleTraffic(lc.ringBwd, L));
  const z = zeroStepBytes(r.zero, units, zeroGroup.length, BPE);
  // Megatron-SP: each tp rank's gradient of the replicated unit covers its own tokens only, so it
  // is all-reduced over the tp group as well (the engine's TpReplicatedState sums it over dp x tp).
  const replicated = tp > 1 ? commBytes.allReduce(evenCounts(units[0] as number, tp), 0, BPE).sent : 0;
  const zeroComm = addTraffic(ringTraffic(zeroGroup, z.total, t), ringTraffic(strided(0, tp, 1), replicated, t));
  const flops = stepFlops(c, r.microBatch, r.seq, o.checkpointing, o.tiling);
  const comp = computeSeconds(flops, 1 / l.sp, r.gpu.peakFlops, r.efficiency);
  const ringExposed = Math.max(0, ring.seconds - comp.attention);
  const exposedSeconds = exposed.seconds + ringExposed;
  const computeTotal = comp.gemm + comp.attention;
  const step = Math.max(computeTotal + exposedSeconds, zeroComm.seconds);
  const tflops = flops.model / l.sp / step / 1e12;
  return {
    layout: l, microBatch: r.microBatch, states, activations: acts, mode, memory, usable, fits: memory <= usable,
    sequenceComm: addTraffic(exposed, ring), zeroComm, computeSeconds: computeTotal, exposedCommSeconds: exposedSeconds,
    stepSeconds: step, tokensPerSecondPerGpu: (r.microBatch * r.seq) / l.sp / step,
    tflops, mfu: (tflops * 1e12) / r.gpu.peakFlops,
    paperTflops: megatronFormulaFlops(c, r.microBatch, r.seq, o.checkpointing) / l.sp / step / 1e12,
  };
}
