// Megatron-SP GPT and Llama with the memory toolkit equal the plain one-worker model: on P = 2 and
// 4 worker threads (uneven token splits, document masks, B = 2, Llama with GQA), activation
// checkpointing, the MLP tiled over the gathered tokens, logits + loss tiled over the rank's
// tokens, and checkpointing with both tilings give the loss and every gradient (two accumulated
// passes) within relative L2 1e-5. With bf16 saved activations the ranks round the same values
// the one-worker model with bf16 storage rounds, so they equal it within 1e-5 too. Checkpointing replays each layer's forward, collectives included, so
// backward moves the plain backward's bytes plus one forward's per layer; the activation bytes
// rank 0 holds equal megatronSpActivationBytes for every option set, and fall with each option;
// a forward without targets still gives whole logits for sampling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commBytes } from '../../src/dist/accounting.js';
import { launchThreads, singleRankCommunicator } from '../../src/dist/threads/launcher.js';
import type { CausalLM } from '../../src/nn/causal-lm.js';
import { createModel } from '../../src/nn/create-model.js';
import { PLAIN_MEMORY, type MemoryOptions } from '../../src/nn/memory-options.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { ParameterStore } from '../../src/nn/parameters.js';
import { megatronSpActivationBytes } from '../../src/parallel/megatron-sp/memory.js';
import { TpLayout } from '../../src/parallel/megatron-sp/tp-layout.js';
import { TpLlama } from '../../src/parallel/megatron-sp/tp-llama.js';
import { megatronSpLayerBytes } from '../../src/parallel/megatron-sp/volume.js';
import { splitCounts } from '../../src/parallel/ulysses/plan.js';
import { buildConfig, memoryOptionsOf, modelConfigOf } from '../../src/train/config.js';
import { planMemory } from '../../src/train/dry-run.js';
import { kernelsFor } from '../../src/train/run.js';
import { countTargets } from '../../src/train/trainer.js';
import { assertClose, relL2 } from '../helpers.js';
import { globalBatches } from './fixtures.js';
import { tinyConfig } from './megatron-cases.js';
import type { TpMemoryCase } from './megatron-memory-worker.js';
import type { TpModelResult } from './megatron-model-worker.js';

const entry = new URL('./megatron-memory-worker.js', import.meta.url);
const m = (o: Partial<MemoryOptions>): MemoryOptions => ({ ...PLAIN_MEMORY, ...o });
const options: MemoryOptions[] = [
  m({ checkpoint: true }),
  m({ mlpTile: 5 }),
  m({ logitsTile: 3 }),
  m({ checkpoint: true, mlpTile: 7, logitsTile: 4 }),
  m({ bf16Activations: true }),
  m({ bf16Activations: true, checkpoint: true, mlpTile: 6, logitsTile: 5 }),
];
const gpt = { arch: 'gpt', B: 2, heads: 12, kvHeads: 12, dModel: 24, dFf: 96, tie: true, docs: true, kernels: 'native', options } as const;
const llama = { ...gpt, arch: 'llama' } as const;
const cases: TpMemoryCase[] = [
  { ...gpt, label: 'GPT P=2 N=13', P: 2, N: 13 },
  { ...gpt, label: 'GPT P=4 N=14', P: 4, N: 14 },
  { ...llama, label: 'Llama H=6 Hkv=2 P=2 N=13', P: 2, N: 13, heads: 6, kvHeads: 2 },
  { ...llama, label: 'Llama H=8 Hkv=4 P=4 N=15 untied head', P: 4, N: 15, heads: 8, kvHeads: 4, dModel: 32, dFf: 64, tie: false },
];

/** Loss sum of the first pass and the gradients of two accumulated passes on the one-worker model. */
function reference(config: ModelConfig, k: TpMemoryCase, memory: MemoryOptions): { lossSum: number; model: CausalLM } {
  const model = createModel(config, { kernels: kernelsFor(k.kernels, 1), seed: 3, memory });
  const batch = globalBatches(1, k.B, k.N, config.vocab_size, 11, k.docs)[0];
  if (!batch) throw new Error('no batch');
  const total = countTargets(batch);
  model.params.zeroGrads();
  const r = model.forward(batch);
  model.backward(1 / total);
  model.forward(batch);
  model.backward(0.5 / total);
  return { lossSum: r.lossSum, model };
}

/** The whole model's gradient: each rank's slices placed in their columns, replicated shares summed. */
function wholeGradient(config: ModelConfig, P: number, ranks: readonly TpModelResult[]): Float32Array {
  const layout = new TpLayout(config, P);
  const local = new ParameterStore();
  layout.declareLocal(local);
  const grads = new Float32Array(layout.fullNumel);
  ranks.forEach((x, rank) => {
    const mine = new Float32Array(layout.fullNumel);
    layout.putLocal(x.grads, mine, local.infos, rank);
    for (let i = 0; i < mine.length; i++) grads[i] = (grads[i] as number) + (mine[i] as number);
  });
  return grads;
}

function label(o: MemoryOptions): string {
  const on = Object.entries(o).filter(([, v]) => v !== 0 && v !== false).map(([key, v]) => (v === true ? key : `${key}=${String(v)}`));
  return on.join(' + ');
}

for (const k of cases) {
  test(`Megatron-SP with the memory toolkit equals the one-worker model: ${k.label}`, { timeout: 60_000 }, async () => {
    const perRank = await launchThreads<TpModelResult[]>(k.P, entry, k);
    const config = tinyConfig(k);
    const plain = reference(config, k, PLAIN_MEMORY);
    const counts = splitCounts(k.N, k.P);
    const L = config.n_layers;
    k.options.forEach((o, j) => {
      const what = `${k.label}, ${label(o)}`;
      const ranks = perRank.map((r) => r[j] as TpModelResult);
      // bf16 storage rounds what backward reads: compare with the one-worker model rounding the same activations.
      const ref = o.bf16Activations ? reference(config, k, o) : plain;
      const tol = 1e-5;
      const lossSum = ranks.reduce((s, x) => s + x.lossSum, 0);
      assert.ok(Math.abs(lossSum - ref.lossSum) <= 1e-5 * Math.abs(ref.lossSum), `${what}: loss sum ${lossSum} vs ${ref.lossSum}`);
      const grads = wholeGradient(config, k.P, ranks);
      for (const info of ref.model.params.infos) {
        const at = (a: Float32Array, from = 0, to = info.size): Float32Array => a.subarray(info.offset + from, info.offset + to);
        if (!info.name.endsWith('attn.c_attn.bias')) {
          assertClose(at(grads), at(ref.model.params.grads), tol, `${what}: gradient of ${info.name}`);
          continue;
        }
        // A key bias's exact gradient is zero (softmax ignores a shift), so only the q and v parts are compared.
        const C = k.dModel;
        for (const part of [0, 2]) {
          assertClose(at(grads, part * C, (part + 1) * C), at(ref.model.params.grads, part * C, (part + 1) * C), tol,
            `${what}: gradient of ${info.name} block ${part}`);
        }
      }
      if (o.bf16Activations) {
        // Not fp32 either: bf16 rounding must reach the gradients.
        assert.ok(relL2(grads, wholeGradient(config, k.P, perRank.map((r) => r[0] as TpModelResult))) > 1e-6,
          `${what}: bf16 storage left the gradients as fp32 checkpointing gives them`);
      }
      ranks.forEach((x, rank) => {
        const v = megatronSpLayerBytes(k.B, k.N, k.P, k.dModel, 4, rank);
        const ids = commBytes.allGather(counts.map((n) => k.B * n), rank, 4);
        const gathers = (k.docs ? 1 : 0) + (k.arch === 'llama' ? 1 : 0);
        assert.deepEqual(x.fwd, [L * v.forward.sent + gathers * ids.sent, L * v.forward.received + gathers * ids.received],
          `${what}: rank ${rank} forward bytes`);
        // A checkpointed layer replays its forward's all-gathers and reduce-scatters (not the ids') before its backward.
        const replay = o.checkpoint ? 1 : 0;
        assert.deepEqual(x.bwd, [L * (v.backward.sent + replay * v.forward.sent), L * (v.backward.received + replay * v.forward.received)],
          `${what}: rank ${rank} backward bytes`);
      });
      assert.equal(ranks[0]?.activationBytes, megatronSpActivationBytes(config, k.B, k.N, k.P, o), `${what}: rank 0 activation bytes`);
    });
  });
}

test('megatronSpActivationBytes falls with each memory option', () => {
  const config: ModelConfig = {
    arch: 'llama', vocab_size: 512, max_seq_len: 4096, d_model: 64, n_layers: 4, n_heads: 8, n_kv_heads: 4, d_ff: 256,
    norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: false,
  };
  const est = (o: Partial<MemoryOptions>): number => megatronSpActivationBytes(config, 1, 4096, 4, m(o));
  const plain = est({});
  const ckpt = est({ checkpoint: true });
  const all = est({ checkpoint: true, mlpTile: 256, logitsTile: 256 });
  assert.ok(ckpt < 0.6 * plain, `checkpointing ${ckpt} vs plain ${plain}`);
  assert.ok(est({ mlpTile: 256 }) < plain && est({ logitsTile: 256 }) < plain, 'tiling saves memory');
  assert.ok(all < ckpt, 'checkpointing with tiling saves the most');
  assert.ok(est({ checkpoint: true, mlpTile: 256, logitsTile: 256, bf16Activations: true }) < all, 'bf16 storage saves more');
  assert.ok(est({ bf16Activations: true }) < plain, 'bf16 storage alone saves memory');
});

test('--dry-run plans a Megatron-SP rank with the memory toolkit from the activation_checkpointing section', () => {
  const set = {
    'sequence_parallel.mode': 'megatron', sequence_parallel_size: 4, 'data.seq_len': 256, 'activation_checkpointing.enabled': true,
    'activation_checkpointing.mlp_tile_tokens': 'auto', 'activation_checkpointing.logits_tile_tokens': 64,
  };
  const c = buildConfig(Object.entries(set).map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'test' })));
  const mo = memoryOptionsOf(c);
  assert.deepEqual(mo, m({ checkpoint: true, mlpTile: 'auto', logitsTile: 64 }));
  const plan = planMemory(c);
  const mc = modelConfigOf(c);
  assert.equal(plan.activations, megatronSpActivationBytes(mc, c.train_micro_batch_size_per_gpu, 256, 4, mo));
  assert.ok(plan.activations < megatronSpActivationBytes(mc, c.train_micro_batch_size_per_gpu, 256, 4), 'the toolkit lowers the plan');
});

test('tiled logits under Megatron-SP: sampling gets whole logits; after a forward with targets lastLogits refuses', () => {
  const comm = singleRankCommunicator();
  const k = { ...gpt, label: 'one rank', P: 1, N: 9 } as const;
  const config = tinyConfig(k);
  const batch = globalBatches(1, 2, 9, config.vocab_size, 5, true)[0];
  if (!batch) throw new Error('no batch');
  const make = (memory: MemoryOptions): TpLlama =>
    new TpLlama({ ...config, arch: 'llama' }, { comm, group: comm.world, seqLen: 9, kernels: kernelsFor('native', 1), seed: 3, memory });
  const plain = make(PLAIN_MEMORY);
  const tiled = make(m({ checkpoint: true, logitsTile: 4 }));
  const noTargets = { ...batch, targets: null };
  plain.forward(noTargets);
  tiled.forward(noTargets);
  assertClose(tiled.lastLogits(), plain.lastLogits(), 1e-6, 'logits');
  tiled.forward(batch);
  assert.throws(() => tiled.lastLogits(), /tiled logits keep no \[N, vocab\] logits .*targets: null/);
  tiled.forward(noTargets);
  assert.throws(() => tiled.backward(1), /no targets/);
});
