// ZeRO stages 0-3 side by side at sp = 4 on the threads backend: per-rank memory by category,
// step time, and the share of the step spent in model-state collectives (gradient all-reduce at
// stage 0, reduce-scatter and parameter all-gather above it). Each stage is one real
// `ulysses train` run of the reference model; timings are medians over the steps after the first.
//
//   node dist/bench/zero-stages.js [--seq 4096] [--steps 6] [--sp 4]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface StepLine {
  step: number;
  time_ms: number;
  comm_ms?: number;
  comm_a2a_ms?: number;
  comm_bytes_sent?: number;
  comm_a2a_bytes_sent?: number;
  mem_params?: number;
  mem_grads?: number;
  mem_optimizer?: number;
  mem_activations?: number;
  mem_comm?: number;
  mem_peak?: number;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);

const seq = flag('--seq', 4096);
const steps = flag('--steps', 6);
const sp = flag('--sp', 4);
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'ulysses-zero-bench-'));
const rows: string[] = [];
try {
  for (const stage of [0, 1, 2, 3]) {
    const args = [
      cli, 'train', '--model', 'gpt', '--sp', String(sp), '--steps', String(steps), '--seq-len', String(seq),
      '--batch-size', '1', '--out-dir', out, '--name', `zero${stage}`, '--val-every', '0', '--checkpoint-every', '0',
      '--set', `zero_optimization.stage=${stage}`, '--set', 'model.d_model=256', '--set', 'model.n_layers=4',
      '--set', 'model.n_heads=8', '--set', 'model.n_kv_heads=8', '--set', `model.max_seq_len=${seq}`,
      '--set', 'data.val_batches=1', '--set', `steps_per_print=${steps}`,
    ];
    const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`stage ${stage} failed:\n${run.stderr}${run.stdout}`);
    const lines = readFileSync(join(out, `zero${stage}`, 'metrics.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as StepLine).filter((m) => m.step > 1);
    const last = lines[lines.length - 1];
    if (!last) throw new Error(`stage ${stage}: no metrics after step 1`);
    const step = median(lines.map((m) => m.time_ms));
    const stateMs = median(lines.map((m) => (m.comm_ms ?? 0) - (m.comm_a2a_ms ?? 0)));
    const a2aMs = median(lines.map((m) => m.comm_a2a_ms ?? 0));
    const states = (last.mem_params ?? 0) + (last.mem_grads ?? 0) + (last.mem_optimizer ?? 0);
    const rank = states + (last.mem_activations ?? 0) + (last.mem_comm ?? 0);
    const stateBytes = (last.comm_bytes_sent ?? 0) - (last.comm_a2a_bytes_sent ?? 0);
    rows.push(
      `| ${stage} | ${mb(last.mem_params ?? 0)} | ${mb(last.mem_grads ?? 0)} | ${mb(last.mem_optimizer ?? 0)} | ` +
        `${mb(states)} | ${mb(last.mem_activations ?? 0)} | ${mb(last.mem_comm ?? 0)} | ${mb(rank)} | ` +
        `${mb(last.mem_peak ?? 0)} | ${step.toFixed(0)} | ${a2aMs.toFixed(0)} | ${stateMs.toFixed(0)} | ` +
        `${((100 * stateMs) / step).toFixed(1)}% | ${mb(stateBytes)} |`,
    );
    process.stderr.write(`stage ${stage} done\n`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(`ZeRO stages at sp=${sp}, reference GPT (d_model 256, 4 layers, 8 heads), N=${seq}, batch 1, ` +
  `${steps} steps (median of steps 2-${steps}); memory per rank in MiB from the engine's accounting.`);
console.log('');
console.log('| stage | params | grads | optimizer | model states | activations | state buffers | accounted per rank | process peak RSS (all ranks) | step ms | all-to-all ms | model-state comm ms | model-state comm share | model-state MiB sent |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
