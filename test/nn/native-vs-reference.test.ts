// The same model on the native kernels and on the TypeScript reference kernels: identical weights
// and batch must give the same loss, logits and every gradient to relative L2 1e-5.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/nn/create-model.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose } from '../helpers.js';
import { gradients, scrambleWeights, tinyBatch, tinyGptConfig, tinyLlamaConfig } from './nn-helpers.js';

const TOL = 1e-5;

function compare(config: ModelConfig, seed: number): void {
  const ref = createModel(config, { kernels: createReferenceKernels(), seed });
  const nat = createModel(config, { kernels: createNativeKernels(), seed });
  scrambleWeights(ref, seed + 1, 0.1);
  nat.params.data.set(ref.params.data);
  const batch = tinyBatch(config, 2, 20, seed + 2, true);
  const r = gradients(ref, batch);
  const n = gradients(nat, batch);
  assert.ok(Math.abs(r.loss - n.loss) <= TOL * Math.abs(r.loss), `${config.arch} loss: native ${n.loss} vs reference ${r.loss}`);
  assertClose(nat.lastLogits(), ref.lastLogits(), TOL, `${config.arch} logits`);
  for (const info of ref.params.infos) {
    assertClose(n.grads.subarray(info.offset, info.offset + info.size),
      r.grads.subarray(info.offset, info.offset + info.size), TOL, `${config.arch} grad.${info.name}`);
  }
}

test('GPT: native kernels give the reference loss and gradients', () => {
  compare(tinyGptConfig({ vocab_size: 50, max_seq_len: 32, d_model: 32, n_heads: 4, n_kv_heads: 4, d_ff: 128 }), 101);
});

test('Llama (GQA): native kernels give the reference loss and gradients', () => {
  compare(tinyLlamaConfig({ vocab_size: 50, max_seq_len: 32, d_model: 32, n_heads: 4, n_kv_heads: 2, d_ff: 48 }), 202);
});
