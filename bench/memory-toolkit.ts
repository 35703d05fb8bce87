// Memory toolkit benchmark: activation bytes, peak RSS and step time of one training step (forward
// + backward) of the reference model (GPT, d_model 256, 4 layers, 8 heads, vocab 256, batch 1) at
// each sequence length, plain and with each part of the toolkit. Each case runs in its own child
// process, so its peak RSS is its own.
//
//   node dist/bench/memory-toolkit.js [--n 8192,16384] [--threads 2] [--steps 2]
//
// A child (--case NAME --n N) prints one JSON line: the model's activationBytes() after the steps,
// the estimate, maxRSS, and the wall and CPU time of the last step (the first one also allocates
// the buffers).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createModel, estimateActivationBytes } from '../src/nn/create-model.js';
import type { ModelConfig } from '../src/nn/model-config.js';
import { PLAIN_MEMORY, type MemoryOptions } from '../src/nn/memory-options.js';
import { createNativeKernels, setNativeThreads } from '../src/kernels/native/native-kernels.js';

const CASES: Record<string, Partial<MemoryOptions>> = {
  plain: {},
  checkpointing: { checkpoint: true },
  tiled: { mlpTile: 'auto', logitsTile: 'auto' },
  toolkit: { checkpoint: true, mlpTile: 'auto', logitsTile: 'auto' },
  'toolkit+bf16': { checkpoint: true, mlpTile: 'auto', logitsTile: 'auto', bf16Activations: true },
};

function referenceConfig(N: number): ModelConfig {
  return {
    arch: 'gpt', vocab_size: 256, max_seq_len: N, d_model: 256, n_layers: 4, n_heads: 8, n_kv_heads: 8,
    d_ff: 1024, norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: true,
  };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

interface CaseResult {
  case: string;
  N: number;
  activationBytes: number;
  estimate: number;
  maxRssBytes: number;
  stepSeconds: number;
  /** CPU seconds (user + system, all threads) of the last step: steadier than wall time on a shared machine. */
  stepCpuSeconds: number;
  loss: number;
}

function runCase(name: string, N: number, threads: number, steps: number): CaseResult {
  const memory = { ...PLAIN_MEMORY, ...(CASES[name] ?? {}) };
  setNativeThreads(threads, threads);
  const config = referenceConfig(N);
  const model = createModel(config, { kernels: createNativeKernels(), seed: 1, memory });
  const tokens = new Int32Array(N);
  const targets = new Int32Array(N);
  const positions = new Int32Array(N);
  for (let t = 0; t < N; t++) {
    tokens[t] = (t * 7919) % 256;
    targets[t] = ((t + 1) * 7919) % 256;
    positions[t] = t;
  }
  let stepSeconds = 0;
  let stepCpuSeconds = 0;
  let loss = 0;
  for (let s = 0; s < steps; s++) {
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    model.params.zeroGrads();
    const r = model.forward({ B: 1, T: N, tokens, targets, positions, docIds: null });
    model.backward(1 / r.count);
    stepSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    stepCpuSeconds = (cpu.user + cpu.system) / 1e6;
    loss = r.lossSum / r.count;
  }
  return {
    case: name, N, activationBytes: model.activationBytes(), estimate: estimateActivationBytes(config, N, memory),
    maxRssBytes: process.resourceUsage().maxRSS * 1024, stepSeconds, stepCpuSeconds, loss,
  };
}

const MiB = 1 << 20;

function main(): void {
  const threads = Number(arg('threads', '2'));
  const steps = Number(arg('steps', '2'));
  const single = arg('case', '');
  if (single) {
    process.stdout.write(`${JSON.stringify(runCase(single, Number(arg('n', '8192')), threads, steps))}\n`);
    return;
  }
  const script = fileURLToPath(import.meta.url);
  const rows: CaseResult[] = [];
  for (const N of arg('n', '8192,16384').split(',').map(Number)) {
    for (const name of Object.keys(CASES)) {
      const child = spawnSync(process.execPath, [script, '--case', name, '--n', String(N), '--threads', String(threads),
        '--steps', String(steps)], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(`case ${name} N=${N} failed: ${child.stderr}`);
      const r = JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as CaseResult;
      rows.push(r);
      const plain = rows.find((x) => x.N === N && x.case === 'plain') ?? r;
      console.log(`N=${N} ${name.padEnd(14)} activations ${(r.activationBytes / MiB).toFixed(1).padStart(8)} MiB ` +
        `(estimate ${r.estimate === r.activationBytes ? 'equal' : (r.estimate / MiB).toFixed(1)}) ` +
        `peak RSS ${(r.maxRssBytes / MiB).toFixed(0).padStart(6)} MiB  step ${r.stepSeconds.toFixed(2)} s ` +
        `(${((r.stepSeconds / plain.stepSeconds - 1) * 100).toFixed(0)}% vs plain), cpu ${r.stepCpuSeconds.toFixed(2)} s ` +
        `(${((r.stepCpuSeconds / plain.stepCpuSeconds - 1) * 100).toFixed(0)}%)  loss ${r.loss.toFixed(4)}`);
    }
  }
}

main();
