// tools/hf_load_check.py against our own exports: a plain-PyTorch rebuild of GPT-2 and Llama from
// model.safetensors + config.json must give ulysses' logits, and a wrong checkpoint must fail.
// Needs Debian's python3-torch under /usr/bin/python3; skipped with the reason otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import type { CausalLM } from '../../src/nn/causal-lm.js';
import { createModel } from '../../src/nn/create-model.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { defaultConfig } from '../../src/train/config.js';
import { AdamW } from '../../src/train/optimizer.js';
import { scrambleWeights, tinyGptConfig, tinyLlamaConfig } from '../nn/nn-helpers.js';

const PYTHON = '/usr/bin/python3';
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const script = join(repo, 'tools', 'hf_load_check.py');
const root = mkdtempSync(join(tmpdir(), 'ulysses-hf-check-'));
after(() => rmSync(root, { recursive: true, force: true }));

function torchMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'PyTorch is not installed for /usr/bin/python3 (apt-get install python3-torch)';
}

function exported(model: CausalLM, name: string): string {
  const dir = join(root, name, 'checkpoint');
  const kernels = createReferenceKernels();
  saveCheckpoint(dir, model, new AdamW(kernels, model.params, { betas: [0.9, 0.99], eps: 1e-8, weight_decay: 0 }), {
    step: 1, sampler_state: 0, tokens_seen: 0, data_tokens: 0, config: defaultConfig(),
  });
  return dir;
}

function model(cfg: ReturnType<typeof tinyGptConfig>, seed: number): CausalLM {
  const m = createModel(cfg, { kernels: createReferenceKernels(), seed });
  scrambleWeights(m, seed, 0.2);
  return m;
}

test('tools/hf_load_check.py: torch rebuilds of our GPT-2 and Llama exports give our logits', (t) => {
  const why = torchMissing();
  if (why) return t.skip(why);
  // vocab_size must hold every byte of the prompt, since prompts are encoded as bytes.
  const gpt = exported(model(tinyGptConfig({ vocab_size: 256 }), 3), 'gpt');
  const llama = exported(model(tinyLlamaConfig({ vocab_size: 256 }), 4), 'llama');
  const saved = join(root, 'gpt-logits.safetensors');
  const ok = spawnSync(PYTHON, [script, gpt, llama, '--mode', 'torch', '--prompt', 'The jury said', '--node', process.execPath], {
    encoding: 'utf8', cwd: repo,
  });
  assert.equal(ok.status, 0, `${ok.stdout}\n${ok.stderr}`);
  assert.equal((ok.stdout.match(/torch rebuild .* -> OK/g) ?? []).length, 2, ok.stdout);
  assert.match(ok.stdout, /all checks agree/);

  // The same check must notice when the weights are not the ones the logits came from.
  const first = spawnSync(PYTHON, [script, gpt, '--mode', 'torch', '--tokens', '1,2,3,4', '--save-logits', saved, '--node', process.execPath], { encoding: 'utf8', cwd: repo });
  assert.equal(first.status, 0, first.stderr);
  const other = exported(model(tinyGptConfig({ vocab_size: 256 }), 5), 'gpt-other');
  const bad = spawnSync(PYTHON, [script, other, '--mode', 'torch', '--logits', saved], { encoding: 'utf8', cwd: repo });
  assert.equal(bad.status, 1, bad.stdout);
  assert.match(bad.stdout, /MISMATCH/);
});
