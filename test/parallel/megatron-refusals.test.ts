// Megatron-SP refuses what it cannot split, naming what is wrong and what would work: degrees that
// do not divide the heads, kv heads or MLP width, ZeRO stages 2 and 3, bf16 wire traffic,
// and a batch that is not this rank's sequence shard. The default config with mode "megatron" and
// a dividing degree is accepted, with the memory toolkit too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { singleRankCommunicator } from '../../src/dist/threads/launcher.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createMegatronSpTraining } from '../../src/parallel/megatron-sp/create.js';
import { allowedMegatronDegrees, checkMegatronSp, MegatronSpConfigError } from '../../src/parallel/megatron-sp/sizes.js';
import { TpGpt } from '../../src/parallel/megatron-sp/tp-gpt.js';
import { buildConfig, type UlyssesConfig } from '../../src/train/config.js';
import { ConfigError } from '../../src/train/errors.js';
import { globalBatches } from './fixtures.js';

function megatronConfig(set: Record<string, unknown>): UlyssesConfig {
  const all = { 'sequence_parallel.mode': 'megatron', ...set };
  return buildConfig(Object.entries(all).map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'test' })));
}

function refused(set: Record<string, unknown>, message: RegExp): void {
  assert.throws(() => megatronConfig(set), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `a ConfigError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

test('config: mode "megatron" is accepted where the degree splits heads, kv heads and MLP width', () => {
  const c = megatronConfig({ sequence_parallel_size: 4 });
  assert.equal(c.sequence_parallel.mode, 'megatron');
  assert.equal(megatronConfig({ sequence_parallel_size: 2, 'model.type': 'gpt', 'model.n_heads': 4 }).model.type, 'gpt');
  const toolkit = megatronConfig({
    sequence_parallel_size: 2, 'activation_checkpointing.enabled': true, 'activation_checkpointing.mlp_tile_tokens': 64,
    'activation_checkpointing.logits_tile_tokens': 'auto', 'activation_checkpointing.bf16_activations': true,
  });
  assert.equal(toolkit.activation_checkpointing.enabled, true, 'the memory toolkit applies to mode "megatron"');
});

test('config: mode "megatron" refuses degrees, stages and options it cannot run, naming the allowed values', () => {
  refused({ sequence_parallel_size: 3 }, /sequence_parallel_size \(3\) must divide model\.n_heads \(4\) in sequence_parallel\.mode "megatron"; use a sequence_parallel_size in \[1,2,4\]/);
  refused({ sequence_parallel_size: 4, 'model.n_heads': 8, 'model.n_kv_heads': 2 }, /must divide model\.n_kv_heads \(2\).*\[1,2\]/);
  refused({ sequence_parallel_size: 4, 'model.type': 'gpt', 'model.d_ff': 30 }, /must divide model\.d_ff \(30\).*\[1,2\]/);
  refused({ sequence_parallel_size: 2, 'zero_optimization.stage': 2 }, /supports zero_optimization\.stage 0, 1, not 2/);
  assert.equal(megatronConfig({ sequence_parallel_size: 2, 'zero_optimization.stage': 1 }).zero_optimization.stage, 1, 'ZeRO-1 is accepted');
  refused({ sequence_parallel_size: 2, 'bf16.enabled': true }, /"megatron" sends fp32 only/);
});

test('sizes: allowed degrees divide heads, kv heads and MLP width and leave every rank a token', () => {
  assert.deepEqual(allowedMegatronDegrees({ n_heads: 12, n_kv_heads: 12, d_ff: 96 }, 100), [1, 2, 3, 4, 6, 12]);
  assert.deepEqual(allowedMegatronDegrees({ n_heads: 12, n_kv_heads: 12, d_ff: 96 }, 5), [1, 2, 3, 4]);
  assert.throws(() => checkMegatronSp(4, { arch: 'gpt', n_heads: 4, n_kv_heads: 4, d_ff: 16 }, 3, 0),
    (e: unknown) => e instanceof MegatronSpConfigError && /exceeds data\.seq_len \(3\).*\[1,2\]/.test(e.message));
  const comm = singleRankCommunicator();
  const config = { arch: 'gpt', vocab_size: 256, max_seq_len: 8, d_model: 8, n_layers: 1, n_heads: 2, n_kv_heads: 2, d_ff: 32,
    norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: true } as const;
  const groups = { sp: comm.world, dp: comm.world, zero: comm.world };
  const hyper = { betas: [0.9, 0.99] as [number, number], eps: 1e-8, weight_decay: 0 };
  assert.throws(() => createMegatronSpTraining(config, { comm, groups, seqLen: 8, kernels: createReferenceKernels(), seed: 1, hyper, zeroStage: 2 }),
    /supports zero_optimization\.stage 0, 1, not 2/);
});

test('TpGpt refuses a batch that is not this rank\'s sequence shard', () => {
  const comm = singleRankCommunicator();
  const config = { arch: 'gpt', vocab_size: 256, max_seq_len: 8, d_model: 8, n_layers: 1, n_heads: 2, n_kv_heads: 2, d_ff: 32,
    norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: true } as const;
  const model = new TpGpt(config, { comm, group: comm.world, seqLen: 8, kernels: createReferenceKernels(), seed: 1 });
  const half = globalBatches(1, 1, 4, 256, 1, false)[0];
  if (!half) throw new Error('no batch');
  assert.throws(() => model.forward(half), /rank 0 of 1 holds 8 tokens of a 8-token sequence, but the batch has T = 4; pass this rank's sequence shard/);
  const whole = globalBatches(1, 1, 8, 256, 1, false)[0];
  if (!whole) throw new Error('no batch');
  assert.ok(Number.isFinite(model.forward(whole).lossSum), 'the right shard runs');
});
