// The train, torch and comparison sections: full training steps of the reference GPT in
// ulysses (worker process per length) and in PyTorch CPU eager (python process per length).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { noteCore, type BenchContext, type SectionOutput } from './context.js';
import type { TrainResult } from './measure-train.js';
import { ensurePeak } from './sections-gemm.js';
import { GiB, fmt, fmtBytes, fmtN, mdTable, memAvailableBytes, runJsonChild, runWorker, srcBenchDir } from './util.js';

const L = 4;
const H = 8;
const Q = 32;

/** nanoGPT estimate_mfu: 6·N_params + 12·L·H·Q·T FLOPs per token (PaLM appendix B). */
export function nanoGptFlopsPerToken(paramsNonEmbedding: number, T: number): number {
  return 6 * paramsNonEmbedding + 12 * L * H * Q * T;
}

/** The same with the attention term halved, the work a causal kernel actually has to do. */
export function causalFlopsPerToken(paramsNonEmbedding: number, T: number): number {
  return 6 * paramsNonEmbedding + 6 * L * H * Q * T;
}

export function trainSection(ctx: BenchContext): SectionOutput {
  const peak = ensurePeak(ctx);
  const plan: [number, number][] = ctx.opts.quick ? [[512, 1], [1024, 1]] : [[1024, 5], [2048, 4], [4096, 3], [8192, 2], [16384, 1], [32768, 1]];
  const results: TrainResult[] = [];
  const rows: string[][] = [];
  for (const [N, steps] of plan) {
    process.stderr.write(`  train N=${N} ...\n`);
    const r = runWorker<TrainResult>('train', { n: N, threads: ctx.opts.threads, steps, warmup: 1 }, 600);
    noteCore(ctx, r.core);
    if (!r.json) {
      rows.push([fmtN(N), `failed: ${r.failure ?? '?'}`, '', '', '', '', '', '', '']);
      continue;
    }
    const t = r.json;
    results.push(t);
    const tps = t.N / t.stepS;
    ctx.train.set(t.N, { tokensPerS: tps, peakRssBytes: t.peakRssBytes });
    const mfu = (nanoGptFlopsPerToken(t.paramsNonEmbedding, t.N) * tps) / (peak * 1e9);
    const mfuCausal = (causalFlopsPerToken(t.paramsNonEmbedding, t.N) * tps) / (peak * 1e9);
    ctx.mfu.set(t.N, { nanoGpt: mfu, causal: mfuCausal });
    rows.push([
      fmtN(t.N), fmt(t.stepS, 2), `${fmt(t.fwdS, 2)} / ${fmt(t.bwdS, 2)} / ${fmt(t.optS, 3)}`, fmt(tps, 0),
      fmt(nanoGptFlopsPerToken(t.paramsNonEmbedding, t.N) / 1e6, 1), `${fmt(100 * mfu, 0)}%`,
      `${fmt(100 * mfuCausal, 0)}%`, fmtBytes(t.peakRssBytes), fmt(t.loss, 3),
    ]);
  }
  const header = [
    'N', 'step s', 'fwd / bwd / AdamW s', 'tokens/s', 'MFLOP/token (nanoGPT)', 'MFU (nanoGPT)',
    'MFU (causal FLOPs)', 'peak RSS', 'loss',
  ];
  const first = results[0];
  const md = [
    `Reference GPT (d_model 256, 4 layers, 8 heads, vocab 256, MLP 4x, batch 1), full steps: zero grads,`,
    `forward, backward, AdamW; ${ctx.opts.threads} threads; one warm-up step, then the median step.`,
    `MFU (nanoGPT) = (6·N_params + 12·L·H·Q·T) · tokens/s / ${fmt(peak)} GFLOP/s (measured GEMM peak, ${ctx.peak?.core ?? ''}, ${ctx.peak?.source ?? ''}),`,
    `N_params without the position table${first ? ` (${first.paramsNonEmbedding.toLocaleString('en-US')})` : ''}. nanoGPT's`,
    'attention term counts the full T×T square; "MFU (causal FLOPs)" halves it, which is the work a causal',
    'kernel does. Peak RSS is the whole node process (one process per length).',
    '',
    mdTable(header, rows),
  ].join('\n');
  return { name: 'train', markdown: md, data: { peakGflops: peak, results } };
}

const PYTHON = '/usr/bin/python3';

interface TorchResult {
  status: 'ok' | 'oom';
  N: number;
  version: string;
  threads: number;
  step_s?: number;
  tokens_per_s?: number;
  loss?: number;
  error?: string;
  baseline_rss_bytes?: number;
  peak_rss_bytes: number;
  cpu_user_s: number;
  cpu_sys_s: number;
  mem_cap_gb: number;
}

function torchAvailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function torchSection(ctx: BenchContext): SectionOutput {
  const version = torchAvailable();
  if (version === null) {
    return { name: 'torch', markdown: 'PyTorch not installed: skipped.', data: null };
  }
  const plan: [number, number, number][] = ctx.opts.quick
    ? [[512, 1, 1], [1024, 1, 1]]
    : [[1024, 3, 1], [2048, 2, 1], [4096, 1, 1], [8192, 1, 0], [16384, 1, 0], [32768, 1, 0]];
  const timeCapS = ctx.opts.quick ? 120 : 300;
  // An address-space cap makes an out-of-memory run fail inside torch instead of waking the OOM killer.
  const capGb = Math.max(1, Math.floor(Math.min(0.9 * memAvailableBytes(), memAvailableBytes() - 3 * GiB) / GiB));
  const env: Record<string, string> = {
    OPENBLAS_NUM_THREADS: String(ctx.opts.threads),
    OMP_NUM_THREADS: String(ctx.opts.threads),
  };
  // Same OpenBLAS kernels as the ulysses side (both link Debian's OpenBLAS 0.3.21).
  if (ctx.openblasCore !== null) env['OPENBLAS_CORETYPE'] = ctx.openblasCore;
  const rows: string[][] = [];
  const results: (TorchResult | { N: number; status: string })[] = [];
  for (const [N, steps, warmup] of plan) {
    process.stderr.write(`  torch N=${N} ...\n`);
    const args = [
      join(srcBenchDir, 'torch_gpt.py'), '--seq-len', String(N), '--steps', String(steps), '--warmup', String(warmup),
      '--threads', String(ctx.opts.threads), '--mem-cap-gb', String(capGb),
    ];
    const r = runJsonChild<TorchResult>(PYTHON, args, timeCapS, env);
    if (r.core !== null && ctx.openblasCore === null) ctx.openblasCore = r.core;
    if (!r.json) {
      const status = r.timedOut ? `time cap ${timeCapS} s` : `failed: ${r.failure ?? '?'}`;
      results.push({ N, status });
      ctx.torch.set(N, { tokensPerS: null, peakRssBytes: Number.NaN, status });
      rows.push([fmtN(N), status, '-', '-', '-', '-', '-']);
      continue;
    }
    const t = r.json;
    results.push(t);
    const status = t.status === 'ok' ? 'ok' : `OOM under ${capGb} GiB cap`;
    ctx.torch.set(N, { tokensPerS: t.tokens_per_s ?? null, peakRssBytes: t.peak_rss_bytes, status });
    rows.push([
      fmtN(N), status, fmt(t.step_s, 2), fmt(t.tokens_per_s, 0), fmtBytes(t.peak_rss_bytes),
      fmtBytes(t.baseline_rss_bytes), `${fmt(t.cpu_user_s, 0)} / ${fmt(t.cpu_sys_s, 0)}`,
    ]);
  }
  const md = [
    `PyTorch ${version} CPU eager (Debian python3-torch), same model and AdamW, torch.set_num_threads(${ctx.opts.threads}),`,
    `OPENBLAS_NUM_THREADS=${ctx.opts.threads}${env['OPENBLAS_CORETYPE'] ? `, OPENBLAS_CORETYPE=${env['OPENBLAS_CORETYPE']} (the core the ulysses side used)` : ''}.`,
    'Attention by hand (q@kᵀ, in-place scale and causal mask, softmax, @v; torch 1.13 has no',
    `scaled_dot_product_attention). One process per length; address space capped at ${capGb} GiB so an OOM fails`,
    `fast; ${timeCapS} s wall cap per length; one warm-up step up to 4K; from 8K (a step takes minutes) a 256-token warm-up step instead.`,
    `Median step. Peak RSS = getrusage ru_maxrss; "after import" is the RSS before the model.`,
    '',
    mdTable(['N', 'status', 'step s', 'tokens/s', 'peak RSS', 'RSS after import', 'process CPU user / sys s'], rows),
  ].join('\n');
  return { name: 'torch', markdown: md, data: { version, capGb, env, results } };
}

/** ulysses against torch at each length both ran, from this run's train and torch sections. */
export function compareSection(ctx: BenchContext): SectionOutput | null {
  const lengths = [...ctx.train.keys()].filter((n) => ctx.torch.has(n)).sort((a, b) => a - b);
  if (lengths.length === 0) return null;
  const rows = lengths.map((n) => {
    const u = ctx.train.get(n) as { tokensPerS: number; peakRssBytes: number };
    const t = ctx.torch.get(n) as { tokensPerS: number | null; peakRssBytes: number; status: string };
    const ok = t.tokensPerS !== null;
    return [
      fmtN(n), fmt(u.tokensPerS, 0), ok ? fmt(t.tokensPerS, 0) : t.status,
      ok ? `${fmt(u.tokensPerS / (t.tokensPerS as number), 2)}x` : '-',
      fmtBytes(u.peakRssBytes), ok ? fmtBytes(t.peakRssBytes) : '-',
      ok ? fmt(u.peakRssBytes / t.peakRssBytes, 3) : '-',
    ];
  });
  const header = ['N', 'ulysses tokens/s', 'torch tokens/s', 'speed-up', 'ulysses peak RSS', 'torch peak RSS', 'memory ratio'];
  const md = 'Same run, same threads. Memory ratio = ulysses peak RSS / torch peak RSS (whole processes).\n\n' +
    mdTable(header, rows);
  return { name: 'compare', markdown: md, data: { lengths } };
}
