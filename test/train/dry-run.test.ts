// `ulysses train --dry-run` prints the per-rank memory the config will need before anything is
// built, from the same formulas the engines' accounting is checked against; and a ZeRO run through
// the CLI says which stage and group sizes are in force, with the mem_* figures in its metrics.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { trainLayers } from '../../src/cli/train-command.js';
import { buildConfig } from '../../src/train/config.js';
import { formatMemoryPlan, planMemory } from '../../src/train/dry-run.js';
import { readMetrics } from '../../src/train/metrics.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'ulysses-dry-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function ulysses(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--dry-run prints the expected per-rank breakdown and exits; sharding divides the model states by dp x sp', () => {
  const args = ['--sp', '4', '--dp', '2', '--set', 'zero_optimization.stage=3'];
  const r = ulysses('train', '--dry-run', ...args);
  assert.equal(r.code, 0, r.stderr);
  const plan = planMemory(buildConfig(trainLayers({ set: ['zero_optimization.stage=3'], sp: '4', dp: '2' })));
  assert.equal(r.stdout, `${formatMemoryPlan(plan).join('\n')}\n`);
  assert.match(r.stdout, /^dry run: 836736 parameters .* 8 rank\(s\) \(data_parallel_size 2 x sequence_parallel_size 4\), zero_optimization\.stage 3/m);
  assert.match(r.stdout, /^ {2}activations {4}[\d.]+ MB/m);
  assert.match(r.stdout, /^ {2}total {10}[\d.]+ MB$/m);
  // Model states per rank: stage 3 is 1/8 of stage 0 up to the padding of each unit's chunks.
  const at = (stage: number): number => {
    const s = planMemory(buildConfig(trainLayers({ set: [`zero_optimization.stage=${stage}`], sp: '4', dp: '2' }))).states;
    return s.params + s.grads + s.optimizer;
  };
  const whole = at(0);
  assert.equal(whole, 16 * plan.numel);
  assert.ok(at(3) * 8 >= whole && at(3) * 8 - whole <= 16 * 7 * 5, `stage 3: ${at(3)} bytes per rank vs ${whole} / 8`);
  assert.ok(at(1) < at(0) && at(2) < at(1) && at(3) < at(2), 'each stage shards more');
});

test('a ZeRO run says which stage and group sizes are in force and logs mem_* per step', () => {
  writeFileSync(join(dir, 'corpus.txt'), 'It was the best of times, it was the worst of times, it was the age of wisdom.\n'.repeat(40));
  const r = ulysses(
    'train', '--corpus', 'corpus.txt', '--steps', '2', '--out-dir', 'runs', '--name', 'z', '--sp', '2', '--set', 'zero_optimization.stage=2',
    '--set', 'model.d_model=16', '--set', 'model.n_layers=1', '--set', 'model.n_heads=2', '--set', 'model.max_seq_len=32',
    '--seq-len', '32', '--batch-size', '2', '--threads', '1', '--set', 'scheduler.params.total_num_steps=5', '--set', 'data.val_fraction=0',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 ranks \(sequence_parallel_size 2 x data_parallel_size 1\), ZeRO stage 2 sharding model states over all 2/);
  assert.match(r.stdout, /^zero_optimization\.stage 2 over the dp x sp group of 2 ranks \(data_parallel_size 1 x sequence_parallel_size 2\); per rank: params [\d.]+ MB, grads [\d.]+ MB, optimizer [\d.]+ MB/m);
  assert.match(r.stdout, /^step 2\/2 \| .*\| comm \d+ ms [\d.]+ MB \(a2a [\d.]+, zero-2 [\d.]+\)/m);
  const m = readMetrics(join(dir, 'runs', 'z', 'metrics.jsonl'));
  for (const s of m) {
    for (const key of ['mem_params', 'mem_grads', 'mem_optimizer', 'mem_activations', 'mem_comm', 'mem_peak'] as const) {
      assert.equal(typeof s[key], 'number', `${key} in ${JSON.stringify(s)}`);
    }
    assert.ok((s.mem_peak ?? 0) >= (s.mem_params ?? 0) + (s.mem_activations ?? 0), 'the peak holds at least the parameters and activations');
  }
});
