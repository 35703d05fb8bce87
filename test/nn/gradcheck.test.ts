// Finite-difference checks of GPT and Llama backward on tiny configs with the reference kernels.
// The loss is computed in fp32, so central differences carry rounding noise of roughly
// (fp32 eps * |loss|) / eps_fd ~ 1e-5; with weights scaled up to make gradients O(1e-2..1),
// sampled elements pooled per tensor agree to ~1e-4..2e-3 and we assert 1e-2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/nn/create-model.js';
import type { CausalLM, TokenBatch } from '../../src/nn/causal-lm.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { rng, relL2 } from '../helpers.js';
import { gradients, meanLoss, scrambleWeights, tinyBatch, tinyGptConfig, tinyLlamaConfig } from './nn-helpers.js';

const FD_EPS = 1e-2;
const TOL = 1e-2;
const SAMPLES = 5;

/** Central-difference derivative of the mean loss along direction dir[numel]. */
function fdDirectional(model: CausalLM, batch: TokenBatch, dir: Float32Array): number {
  const data = model.params.data; // [numel]
  const saved = data.slice();
  for (let i = 0; i < data.length; i++) data[i] = (saved[i] as number) + FD_EPS * (dir[i] as number);
  const plus = meanLoss(model, batch);
  for (let i = 0; i < data.length; i++) data[i] = (saved[i] as number) - FD_EPS * (dir[i] as number);
  const minus = meanLoss(model, batch);
  data.set(saved);
  return (plus - minus) / (2 * FD_EPS);
}

/** Central-difference derivative of the mean loss with respect to one flat parameter index. */
function fdElement(model: CausalLM, batch: TokenBatch, index: number): number {
  const data = model.params.data; // [numel]
  const x = data[index] as number;
  data[index] = x + FD_EPS;
  const plus = meanLoss(model, batch);
  data[index] = x - FD_EPS;
  const minus = meanLoss(model, batch);
  data[index] = x;
  return (plus - minus) / (2 * FD_EPS);
}

function checkModel(config: ModelConfig, withDocIds: boolean, seed: number): void {
  const model = createModel(config, { kernels: createReferenceKernels(), seed });
  scrambleWeights(model, seed + 1);
  const batch = tinyBatch(config, 2, 6, seed + 2, withDocIds);
  const { grads } = gradients(model, batch);
  const r = rng(seed + 3);
  for (const info of model.params.infos) {
    const fd: number[] = [];
    const an: number[] = [];
    for (let s = 0; s < Math.min(SAMPLES, info.size); s++) {
      const index = info.offset + Math.floor(r() * info.size);
      fd.push(fdElement(model, batch, index));
      an.push(grads[index] as number);
    }
    const err = relL2(an, fd);
    assert.ok(err <= TOL, `${config.arch} ${info.name}: sampled gradient rel L2 ${err.toExponential(2)} > ${TOL}\n` +
      `  analytic ${an.map((x) => x.toExponential(3)).join(' ')}\n  numeric  ${fd.map((x) => x.toExponential(3)).join(' ')}`);
  }
  // One random direction over every parameter at once checks all elements, not just the samples.
  const dir = new Float32Array(model.params.numel); // [numel]
  let norm = 0;
  for (let i = 0; i < dir.length; i++) {
    dir[i] = r() * 2 - 1;
    norm += (dir[i] as number) ** 2;
  }
  for (let i = 0; i < dir.length; i++) dir[i] = (dir[i] as number) / Math.sqrt(norm);
  let analytic = 0;
  for (let i = 0; i < dir.length; i++) analytic += (grads[i] as number) * (dir[i] as number);
  const numeric = fdDirectional(model, batch, dir);
  const err = Math.abs(analytic - numeric) / Math.abs(numeric);
  assert.ok(err <= TOL, `${config.arch} directional derivative: analytic ${analytic} vs numeric ${numeric}`);
}

test('GPT backward matches finite differences', () => {
  checkModel(tinyGptConfig(), false, 11);
});

test('GPT backward matches finite differences with document masks', () => {
  checkModel(tinyGptConfig(), true, 21);
});

test('Llama (GQA, untied) backward matches finite differences with document masks', () => {
  checkModel(tinyLlamaConfig(), true, 31);
});

test('Llama (MHA, tied embeddings) backward matches finite differences', () => {
  checkModel(tinyLlamaConfig({ n_kv_heads: 4, tie_embeddings: true }), false, 41);
});
