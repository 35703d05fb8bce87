// The models against PyTorch: tools/make_fixture.py writes tiny GPT-2 and Llama fixtures (weights,
// a batch with a position offset and document masks, logits, mean loss, every gradient) computed in
// float64; our fp32 forward and backward must match each tensor to relative L2 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, type NamedTensor } from '../../src/tensor/safetensors.js';
import { createModel } from '../../src/nn/create-model.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import type { Kernels } from '../../src/kernels/kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose } from '../helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures');
const TOL = 1e-4;

function tensor(tensors: Map<string, NamedTensor>, name: string): NamedTensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor ${name}`);
  return t;
}

function checkFixture(file: string, kernels: Kernels): void {
  const { tensors, metadata } = readSafetensors(join(FIXTURES, file));
  const config = JSON.parse(metadata.config ?? 'null') as ModelConfig;
  const model = createModel(config, { kernels, seed: 0 });
  for (const info of model.params.infos) {
    const t = tensor(tensors, info.name);
    assert.deepEqual(t.shape, info.shape, `${file}: shape of ${info.name}`);
    model.params.value(info.name).set(t.data);
  }
  const [B, T] = tensor(tensors, 'tokens').shape as [number, number];
  const batch = {
    B, T,
    tokens: tensor(tensors, 'tokens').data as Int32Array,
    targets: tensor(tensors, 'targets').data as Int32Array,
    positions: tensor(tensors, 'positions').data as Int32Array,
    docIds: tensor(tensors, 'doc_ids').data as Int32Array,
  };
  model.params.zeroGrads();
  const { lossSum, count } = model.forward(batch);
  assertClose(model.lastLogits(), tensor(tensors, 'logits').data, TOL, `${file} (${kernels.name}) logits`);
  assertClose([lossSum / count], tensor(tensors, 'loss').data, TOL, `${file} (${kernels.name}) loss`);
  model.backward(1 / count);
  for (const info of model.params.infos) {
    assertClose(model.params.grad(info.name), tensor(tensors, `grad.${info.name}`).data, TOL,
      `${file} (${kernels.name}) grad.${info.name}`);
  }
}

test('GPT matches the PyTorch fixture (reference kernels)', () => {
  checkFixture('gpt_tiny.safetensors', createReferenceKernels());
});

test('Llama matches the PyTorch fixture (reference kernels)', () => {
  checkFixture('llama_tiny.safetensors', createReferenceKernels());
});

test('GPT matches the PyTorch fixture (native kernels)', () => {
  checkFixture('gpt_tiny.safetensors', createNativeKernels());
});

test('Llama matches the PyTorch fixture (native kernels)', () => {
  checkFixture('llama_tiny.safetensors', createNativeKernels());
});
