import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate, sampleToken } from '../../src/train/generate.js';
import { Rng } from '../../src/train/rng.js';
import { buildModel, kernelsFor } from '../../src/train/run.js';
import { tinyConfig } from './fixtures.js';

test('sampleToken: greedy at temperature 0, top-k, and softmax frequencies', () => {
  const logits = Float32Array.of(0, Math.log(3), -Infinity, 1.5);
  const r = new Rng(1);
  assert.equal(sampleToken(logits, 0, r), 3);
  assert.equal(sampleToken(logits, 1, r, 1), 3, 'top-1 is greedy');
  const counts = [0, 0, 0, 0];
  const n = 20000;
  const flat = Float32Array.of(0, Math.log(3), -Infinity, 0);
  for (let i = 0; i < n; i++) {
    const t = sampleToken(flat, 1, r);
    counts[t] = (counts[t] as number) + 1;
  }
  assert.equal(counts[2], 0, 'a -inf logit is never drawn');
  assert.ok(Math.abs((counts[1] as number) / n - 0.6) < 0.02, `p(1) = ${(counts[1] as number) / n}, want 3/5`);
});

test('generate continues a prompt past max_seq_len, reproducibly from the seed', () => {
  const model = buildModel(tinyConfig(), kernelsFor('native', 1));
  const prompt = Array.from({ length: 10 }, (_, i) => 97 + i);
  const a = generate(model, prompt, { tokens: 12, temperature: 0.8, seed: 5 });
  const b = generate(model, prompt, { tokens: 12, temperature: 0.8, seed: 5 });
  assert.equal(a.length, 12, 'the context window slides once it passes max_seq_len = 16');
  assert.ok(a.every((t) => Number.isInteger(t) && t >= 0 && t < 256));
  assert.deepEqual(a, b);
  const greedy = generate(model, prompt, { tokens: 3, temperature: 0, seed: 1 });
  assert.deepEqual(greedy, generate(model, prompt, { tokens: 3, temperature: 0, seed: 2 }), 'greedy ignores the seed');
});
