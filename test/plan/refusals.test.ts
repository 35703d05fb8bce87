// Requests the planner cannot answer are refused with a message that names what is wrong and what
// is allowed, from the library and from the command line (exit code 2, no stack trace).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPlan, type PlanFlags } from '../../src/cli/plan-command.js';
import { PlanError } from '../../src/plan/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const flags = (over: Partial<PlanFlags>): PlanFlags => ({
  model: 'gpt-7b', seq: '32K', gpus: '8', gpu: 'a100-80gb', zero: '3', microBatch: '1', memoryReserve: '0.1', ...over,
});

function refused(over: Partial<PlanFlags>, ...parts: RegExp[]): void {
  assert.throws(() => runPlan(flags(over)), (e: unknown) => {
    assert.ok(e instanceof PlanError, `expected a PlanError, got ${String(e)}`);
    for (const p of parts) assert.match(e.message, p);
    return true;
  });
}

test('a Ulysses degree above the head count is refused with the sizes that work', () => {
  refused({ gpus: '64', strategy: 'ulysses', sp: '64' }, /exceeds n_heads = 32/, /1\.\.32/);
});

test('a GPU count that is not whole nodes is refused', () => {
  refused({ gpus: '12', gpusPerNode: '8' }, /--gpus 12 is not a whole number of nodes of 8/, /multiple of 8/);
  refused({ gpus: '12', nodes: '5' }, /cannot be split evenly over --nodes 5/);
});

test('unknown presets, strategies, degrees and stages are refused with the allowed values', () => {
  refused({ model: 'gpt-9b' }, /unknown model preset "gpt-9b"/, /gpt-1\.2b, gpt-7b, gpt-30b, llama3-8b, llama3-70b/);
  refused({ gpu: 'v100' }, /unknown GPU preset "v100"/, /a100-40gb, a100-80gb, h100-80gb, h200/);
  refused({ network: 'wifi' }, /unknown network preset "wifi"/, /hdr200, ndr400/);
  refused({ strategy: 'pipeline' }, /--strategy pipeline is unknown/, /ulysses, megatron-sp, ring, hybrid/);
  refused({ sp: '3' }, /--sp 3 does not divide --gpus 8/, /1, 2, 4, 8/);
  refused({ zero: '5' }, /--zero must be 0, 1, 2 or 3/);
  refused({ seq: 'lots' }, /--seq must be a positive integer/);
  refused({ seq: undefined }, /--seq is required/);
});

test('Megatron-SP degrees that do not divide the kv heads are refused, naming the degrees that do', () => {
  refused({ model: 'llama3-8b', gpus: '16', strategy: 'megatron-sp', sp: '16' }, /must divide n_heads \(32\)|n_kv_heads \(8\)/, /allowed degrees: 1, 2, 4, 8/);
  // Without --sp the refusal is listed and the other layouts are still planned.
  const out = runPlan(flags({ model: 'llama3-8b', gpus: '16' }));
  assert.match(out, /not possible:\n(.|\n)*megatron-sp sp16 dp1: megatron-sp: tensor-parallel degree 16 must divide n_kv_heads \(8\)/);
  assert.match(out, /recommended: /);
});

test('ring and hybrid layouts the zigzag split cannot hold are refused with the engine\'s reason', () => {
  refused({ seq: '1000', strategy: 'ring', sp: '8' }, /2 x ring size = 16 equal chunks/, /not a positive multiple of 16/);
  refused({ seq: '1001', strategy: 'hybrid', sp: '8' }, /hybrid attention: the zigzag layout cuts the sequence into 2 x ring_size = 4/);
});

test('a config.json model with a bad field is refused naming the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plan-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ model_type: 'llama', hidden_size: 4096, num_hidden_layers: 8, num_attention_heads: 32, num_key_value_heads: 5 }));
  refused({ model: path }, /n_kv_heads \(5\) must divide n_heads \(32\)/);
  writeFileSync(path, JSON.stringify({ model_type: 'llama', hidden_size: 1024, num_hidden_layers: 4, num_attention_heads: 8, num_key_value_heads: 2, intermediate_size: 2816, vocab_size: 32000 }));
  const p = JSON.parse(runPlan(flags({ model: path, json: true }))) as { request: { model: { d_ff: number; n_kv_heads: number } } };
  assert.deepEqual([p.request.model.d_ff, p.request.model.n_kv_heads], [2816, 2]);
});

test('the command line explains a refused request and exits with code 2', () => {
  const r = spawnSync(process.execPath, [MAIN, 'plan', '--model', 'gpt-7b', '--seq', '8K', '--gpus', '12', '--gpu', 'h100-80gb'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^ulysses: --gpus 12 is not a whole number of nodes of 8/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const ok = spawnSync(process.execPath, [MAIN, 'plan', '--model', 'llama3-8b', '--seq', '128K', '--gpus', '16', '--gpu', 'h100-80gb', '--json'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const j = JSON.parse(ok.stdout) as { recommended: { fits: boolean } | null; estimates: unknown[] };
  assert.ok(j.estimates.length > 10 && j.recommended?.fits);
});
