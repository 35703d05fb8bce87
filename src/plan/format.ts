// The text `ulysses plan` prints: the request and its assumptions, one line per layout, the
// refused layouts with their reasons, and the recommendation.
import type { LayoutEstimate } from './evaluate.js';
import { layoutLabel } from './layouts.js';
import { parameterCount } from './model-source.js';
import type { MaxSeqResult, PlanResult } from './planner.js';
import type { PlanRequest } from './request.js';

const GiB = 1024 ** 3;
const gib = (b: number): string => (b / GiB).toFixed(1);
const gb = (b: number): string => (b / 1e9).toFixed(2);
const pad = (s: string, w: number): string => (s.length >= w ? s : ' '.repeat(w - s.length) + s);
const tokens = (n: number): string => (n % 1024 === 0 ? `${n / 1024}K` : `${n}`);

export function formatHeader(r: PlanRequest): string[] {
  const c = r.model;
  const nodes = Math.max(1, Math.ceil(r.gpus / r.gpusPerNode));
  return [
    `model ${r.modelName}: ${(parameterCount(c) / 1e9).toFixed(2)}B parameters, ${c.arch}, ${c.n_layers} layers, d_model ${c.d_model}, ` +
      `${c.n_heads} heads (${c.n_kv_heads} kv), d_ff ${c.d_ff}, vocab ${c.vocab_size}; ` +
      `${r.seq > 0 ? `sequence ${tokens(r.seq)} tokens, ` : ''}micro-batch ${r.microBatch}`,
    `cluster: ${r.gpus} x ${r.gpu.name} (${(r.gpu.peakFlops / 1e12).toFixed(0)} TFLOP/s bf16 dense, ${gib(r.gpu.memoryBytes)} GiB), ` +
      `${nodes} node(s) of ${r.gpusPerNode}; NVLink ${(r.gpu.nvlinkBytesPerS / 1e9).toFixed(0)} GB/s, ${r.network.description} ` +
      `(${(r.network.bytesPerSPerGpu / 1e9).toFixed(1)} GB/s per GPU), each way`,
    `precision: bf16 parameters, gradients, activations and communication; fp32 master weights and AdamW moments ` +
      `(2 + 2 + 12 bytes per parameter); ZeRO-${r.zero} over dp x sp (Megatron-SP: over dp, weights split over tp = sp)`,
    `efficiency: GEMM ${r.efficiency.gemm}, attention ${r.efficiency.attention}, links ${r.efficiency.bandwidth} of peak; ` +
      `${(r.memoryReserve * 100).toFixed(0)}% of memory kept free; overlap: all-to-alls and Megatron-SP collectives exposed, ` +
      `ring hops hidden behind attention, ZeRO collectives behind the whole step`,
  ];
}

const COLUMNS = [
  ['layout (b: micro-batch)', 28], ['params', 7], ['grads', 6], ['optim', 6], ['zbuf', 5], ['act', 6], ['act/ck', 7], ['act/ck+t', 9],
  ['mode', 21], ['GiB/GPU', 8], ['fits', 5], ['sp intra', 9], ['sp inter', 9], ['zero intra', 11], ['zero inter', 11],
  ['step s', 8], ['TFLOP/s', 8], ['MFU', 6], ['paper TF', 9],
] as const;

/** The layout and its micro-batch. */
const label = (e: LayoutEstimate): string => `${layoutLabel(e.layout)} b${e.microBatch}`;

export function formatEstimate(e: LayoutEstimate): string {
  const s = e.states;
  const cells = [
    label(e), gib(s.params), gib(s.grads), gib(s.optimizer), gib(s.comm), gib(e.activations.none),
    gib(e.activations.checkpointing), gib(e.activations['checkpointing+tiling']), e.mode, gib(e.memory), e.fits ? 'yes' : 'NO',
    gb(e.sequenceComm.intra), gb(e.sequenceComm.inter), gb(e.zeroComm.intra), gb(e.zeroComm.inter),
    e.stepSeconds.toPrecision(3), e.tflops.toFixed(0), `${(e.mfu * 100).toFixed(0)}%`, e.paperTflops.toFixed(0),
  ];
  return cells.map((x, i) => (i === 0 ? x.padEnd(COLUMNS[0][1]) : pad(x, (COLUMNS[i] as readonly [string, number])[1]))).join(' ');
}

export function formatPlan(p: PlanResult): string {
  const lines = [...formatHeader(p.request), ''];
  lines.push('memory per GPU in GiB (act: activations with no checkpointing, with checkpointing, with checkpointing and tiling;');
  lines.push('mode: what the fit and the time assume); communication per GPU per step in GB sent, NVLink (intra) and InfiniBand (inter)');
  lines.push(COLUMNS.map(([h, w], i) => (i === 0 ? h.padEnd(w) : pad(h, w))).join(' '));
  for (const e of p.estimates) lines.push(formatEstimate(e));
  if (p.refused.length > 0) {
    lines.push('', 'not possible:');
    for (const x of p.refused) lines.push(`  ${layoutLabel(x.layout)}: ${x.reason}`);
  }
  lines.push('');
  const r = p.recommended;
  if (r) {
    lines.push(
      `recommended: ${label(r)} (b: micro-batch) with ${r.mode}: ${gib(r.memory)} of ${gib(r.usable)} GiB usable per GPU, ` +
        `${r.stepSeconds.toPrecision(3)} s per step, ${Math.round(r.tokensPerSecondPerGpu)} tokens/s per GPU, ` +
        `${r.tflops.toFixed(0)} TFLOP/s per GPU (MFU ${(r.mfu * 100).toFixed(0)}%; ${r.paperTflops.toFixed(0)} by Megatron-DeepSpeed's counter, the paper's unit)`,
    );
  } else {
    lines.push(`recommended: nothing fits in ${gib(p.request.gpu.memoryBytes * (1 - p.request.memoryReserve))} GiB per GPU; ` +
      'use more GPUs, a higher ZeRO stage, --checkpointing, or a shorter sequence (--max-seq finds the longest that fits)');
  }
  return lines.join('\n');
}

export function formatMaxSeq(r: PlanRequest, results: readonly MaxSeqResult[]): string {
  const lines = [...formatHeader(r), '', 'longest sequence that fits, per strategy (the fastest fitting layout at that length):'];
  for (const m of results) {
    const e = m.estimate;
    lines.push(e
      ? `  ${m.strategy.padEnd(12)} ${pad(tokens(m.seq), 8)} tokens  ${label(e)}, ${e.mode}, ${gib(e.memory)} GiB/GPU, ` +
        `${e.tflops.toFixed(0)} TFLOP/s per GPU`
      : `  ${m.strategy.padEnd(12)} nothing fits`);
  }
  return lines.join('\n');
}
