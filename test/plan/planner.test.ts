// The planner's parameterised memory model at the engine's fp32 instance equals the engine's own
// estimates; a planner output worked out by hand; link splits; the longest-sequence search.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateActivationBytes, modelLayout } from '../../src/nn/create-model.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { expectedModelStateMemory } from '../../src/parallel/zero/create.js';
import type { ZeroStage } from '../../src/parallel/zero/engine.js';
import {
  allToAllTraffic, CPU_ACTIVATIONS, CPU_STATE_PRECISION, DEFAULT_EFFICIENCY, gpuPreset, maxSeq, modelActivationBytes,
  modelPreset, modelStateBytes, modelUnits, networkPreset, plan, ringTraffic, type PlanRequest,
} from '../../src/plan/index.js';

const small = (arch: 'gpt' | 'llama', Hkv: number): ModelConfig => ({
  arch, vocab_size: 97, max_seq_len: 64, d_model: 48, n_layers: 3, n_heads: 6, n_kv_heads: Hkv, d_ff: 4 * 48 + (arch === 'llama' ? 8 : 0),
  norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: arch === 'gpt',
});

test('the fp32 activation model equals the engine estimate with and without checkpointing and tiling', () => {
  for (const c of [small('gpt', 6), small('llama', 2), small('llama', 6)]) {
    for (const n of [1, 7, 64, 1000]) {
      for (const checkpointing of [false, true]) {
        for (const tiling of [false, true]) {
          const got = modelActivationBytes(c, n, CPU_ACTIVATIONS, { checkpointing, tiling, tileTokens: 16 }).total;
          const t = tiling ? 16 : 0;
          const want = estimateActivationBytes(c, n, { checkpoint: checkpointing, mlpTile: t, logitsTile: t, bf16Activations: false });
          assert.equal(got, want, `${c.arch} Hkv ${c.n_kv_heads}, ${n} tokens, checkpointing ${checkpointing}, tiling ${tiling}`);
        }
      }
    }
  }
});

test('checkpointing keeps one [n, C] input per layer; tiling drops the [n, F] and [n, V] tensors to a tile', () => {
  const c = small('gpt', 6);
  const n = 1000;
  const plain = modelActivationBytes(c, n, CPU_ACTIVATIONS, { checkpointing: false, tiling: false });
  const ck = modelActivationBytes(c, n, CPU_ACTIVATIONS, { checkpointing: true, tiling: false });
  // Plain: x0 [1000, 48] and 3 layers' sets; checkpointing: 3 inputs of 1000 x 48 x 4 bytes and one set.
  const set = (plain.layers - 1000 * 48 * 4) / 3;
  assert.equal(ck.layers, 3 * 1000 * 48 * 4 + set);
  const tiled = modelActivationBytes(c, n, CPU_ACTIVATIONS, { checkpointing: false, tiling: true, tileTokens: 10 });
  // GPT keeps fch and fchGelu [1000, 192] per layer: 3 x 2 x 1000 x 192 x 4 bytes fewer.
  assert.equal(plain.layers - tiled.layers, 3 * 2 * 1000 * 192 * 4);
  // The head: lnf, dlnf [1000, 48], mean, rstd, losses [1000], logits, dlogits [1000, 97], against
  // losses [1000], dx [1000, 48], a tile's rows [10, 2 x 48 + 97 + 2] and the [97, 48] + 2 x [48] gradients.
  const head = 4 * (2 * 1000 * 48 + 3 * 1000 + 2 * 1000 * 97);
  const tiledHead = 4 * (1000 + 1000 * 48 + 10 * (2 * 48 + 97 + 2) + 97 * 48 + 2 * 48);
  assert.equal(plain.model - tiled.model, head - tiledHead);
});

test('the fp32 model-state model equals expectedModelStateMemory for every stage and group size', () => {
  for (const c of [small('gpt', 6), small('llama', 2)]) {
    const layout = modelLayout(c);
    for (const stage of [0, 1, 2, 3] as ZeroStage[]) {
      for (const Z of [1, 2, 3, 8]) {
        assert.deepEqual(modelStateBytes(stage, modelUnits(c), Z, CPU_STATE_PRECISION), expectedModelStateMemory(stage, layout, Z), `${c.arch} ZeRO-${stage} Z ${Z}`);
      }
    }
  }
});

test('all-to-all and ring traffic split by node', () => {
  const t = { gpusPerNode: 8, nvlinkBytesPerS: 100, ibBytesPerS: 10 };
  // Rank 0 of 16 ranks on two nodes: 7 of its 15 peers share its node.
  const a = allToAllTraffic(Array.from({ length: 16 }, (_, i) => i), 1500, t);
  assert.deepEqual([a.intra, a.inter, a.seconds], [700, 800, 80]);
  // A ring over ranks 0, 8, 16, 24: every edge leaves a node; ranks 0..7: none does.
  assert.deepEqual(ringTraffic([0, 8, 16, 24], 400, t), { intra: 0, inter: 400, seconds: 40 });
  assert.deepEqual(ringTraffic([0, 1, 2, 3, 4, 5, 6, 7], 400, t), { intra: 400, inter: 0, seconds: 4 });
  // 16 ranks in order: 2 of the 16 edges (7 -> 8, 15 -> 0) cross.
  assert.deepEqual(ringTraffic(Array.from({ length: 16 }, (_, i) => i), 1600, t), { intra: 1400, inter: 200, seconds: 160 });
});

const request = (over: Partial<PlanRequest> = {}): PlanRequest => ({
  modelName: 'gpt-7b', model: modelPreset('gpt-7b'), seq: 32768, gpus: 8, gpusPerNode: 8, gpu: gpuPreset('a100-80gb'),
  network: networkPreset('hdr200'), zero: 3, checkpointing: 'auto', microBatch: 1, efficiency: DEFAULT_EFFICIENCY, memoryReserve: 0.1, ...over,
});

test('GPT 7B, 32K tokens, Ulysses sp 8 on one node of A100-80GB, ZeRO-3: worked out by hand', () => {
  const e = plan(request(), { strategies: ['ulysses'], sp: 8 }).estimates[0];
  assert.ok(e);
  const C = 4096;
  const L = 32;
  // Units: embeddings 50304 x 4096 + positions 32768 x 4096 + final norm 2 x 4096 = 340271104;
  // a block 12 C^2 + 13 C = 201379840; 32 blocks: 6784425984 parameters.
  const u0 = 50304 * C + 32768 * C + 2 * C;
  const blk = 12 * C * C + 13 * C;
  assert.deepEqual([u0, blk], [340271104, 201379840]);
  // ZeRO-3 over 8, bf16 params and grads (2 B), fp32 master + moments (12 B) on the shard.
  const S = Math.ceil(u0 / 8) + L * Math.ceil(blk / 8); // 42533888 + 32 x 25172480
  assert.equal(e.states.params, 2 * S);
  assert.equal(e.states.optimizer, 12 * S);
  // Two gathered units and two gradient buffers (each 8 chunks + its reduce-scatter output), bf16.
  assert.equal(e.states.comm, 2 * 2 * 8 * 42533888 + 2 * 2 * (8 * 42533888 + 42533888));
  // All-to-alls: (2h + 2h) x 4096 tokens x 7/8 x 2 bytes per layer and direction, no recompute.
  assert.equal(e.mode, 'none');
  const a2a = 4 * C * 4096 * (7 / 8) * 2 * 2 * L;
  assert.equal(e.sequenceComm.intra, a2a);
  assert.equal(e.sequenceComm.inter, 0);
  // ZeRO-3 sends 7 chunks per gather and reduce-scatter, 2 B each: gathers unit 0 x3, blocks 1..31 x2,
  // block 32 x1; reduce-scatters unit 0 x2, blocks x1; the norm's all-gather 7 x 2 fp32.
  const zero = 7 * 2 * (3 * 42533888 + 63 * 25172480) + 7 * 2 * (2 * 42533888 + 32 * 25172480) + 7 * 2 * 4;
  assert.equal(e.zeroComm.intra, zero);
  // Compute per GPU: GEMMs 6 x 32768 x (32 x 12 C^2 + C x 50304), causal attention 6 x 32768^2 x C x 32, over 8.
  const gemm = (6 * 32768 * (L * 12 * C * C + C * 50304)) / 8;
  const attn = (6 * 32768 * 32768 * C * L) / 8;
  const compute = gemm / (312e12 * 0.75) + attn / (312e12 * 0.5);
  assert.ok(Math.abs(e.computeSeconds - compute) < 1e-9 * compute);
  // All-to-alls on NVLink at 0.8 x 300 GB/s, exposed; ZeRO hidden behind the step (it takes less).
  const step = compute + a2a / 240e9;
  assert.ok(zero / 240e9 < step);
  assert.ok(Math.abs(e.stepSeconds - step) < 1e-9 * step, `step ${e.stepSeconds} vs ${step}`);
  const tflops = (gemm + attn) / step / 1e12;
  assert.ok(Math.abs(e.tflops - tflops) < 1e-9 * tflops);
  assert.ok(Math.abs(e.mfu - tflops / 312) < 1e-9);
  assert.ok(e.fits);
});

test('across nodes Ulysses sp 16 sends 8 of every 15 all-to-all bytes over InfiniBand', () => {
  const e = plan(request({ gpus: 16 }), { strategies: ['ulysses'], sp: 16 }).estimates[0];
  assert.ok(e);
  const total = e.sequenceComm.intra + e.sequenceComm.inter;
  assert.ok(Math.abs(e.sequenceComm.inter / total - 8 / 15) < 1e-12);
});

test('--max-seq: the longest fitting multiple of 1024 fits and the next one does not', () => {
  const r = request({ model: modelPreset('gpt-1.2b'), modelName: 'gpt-1.2b', gpu: gpuPreset('a100-40gb') });
  const [m] = maxSeq(r, { strategies: ['ulysses'] });
  assert.ok(m && m.seq > 0 && m.estimate?.fits);
  assert.ok(m.seq % 1024 === 0);
  assert.equal(plan({ ...r, seq: m.seq }, { strategies: ['ulysses'] }).recommended?.fits, true);
  assert.equal(plan({ ...r, seq: m.seq + 1024 }, { strategies: ['ulysses'] }).recommended, null);
});
