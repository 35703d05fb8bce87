// What the sections of one bench run share: options, the measured GEMM peak (the denominator
// of every utilisation figure) and the OpenBLAS core every child used.

export interface BenchOptions {
  quick: boolean;
  /** Threads for every 2-thread measurement (native kernels, OpenBLAS and torch alike). */
  threads: number;
}

export interface GemmPeak {
  /** Largest median-time sgemm rate over the measured sizes, GFLOP/s, at `threads` threads. */
  gflops: number;
  threads: number;
  /** OpenBLAS core that reached it. */
  core: string;
  /** Where the figure came from: the gemm section of this run, or a short probe. */
  source: 'gemm section' | 'probe';
}

/** One section's result: a markdown block for the terminal and BENCHMARKS.md, and raw data. */
export interface SectionOutput {
  name: string;
  markdown: string;
  data: unknown;
}

export interface BenchContext {
  opts: BenchOptions;
  peak: GemmPeak | null;
  /** Single-thread GEMM peak from the gemm section (to check that more threads really had cores). */
  peak1: number | null;
  /** OpenBLAS kernel family reported by the children (e.g. "Prescott", "SkylakeX"). */
  openblasCore: string | null;
  /** Per-length results kept for the ulysses-vs-torch comparison. */
  train: Map<number, { tokensPerS: number; peakRssBytes: number }>;
  torch: Map<number, { tokensPerS: number | null; peakRssBytes: number; status: string }>;
  /** Attention fwd+bwd rate as a fraction of the GEMM peak, per length. */
  attentionOfPeak: Map<number, number>;
  /** Training MFU per length: nanoGPT's formula and the causal-FLOPs variant. */
  mfu: Map<number, { nanoGpt: number; causal: number }>;
}

export function noteCore(ctx: BenchContext, core: string | null): void {
  if (core !== null && ctx.openblasCore === null) ctx.openblasCore = core;
  if (core !== null && ctx.openblasCore !== null && core !== ctx.openblasCore) {
    process.stderr.write(`warning: children used different OpenBLAS cores (${ctx.openblasCore}, ${core})\n`);
  }
}
