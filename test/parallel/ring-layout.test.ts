// The zigzag and hybrid token layouts: which tokens each rank holds, that the pieces of every rank
// reassemble the batch with global positions, and the size checks and refusals of ring and hybrid
// attention and of the ring / hybrid config, each naming what is wrong and what would work.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { singleRankCommunicator } from '../../src/dist/threads/launcher.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { RingAttention } from '../../src/parallel/ring/ring-attention.js';
import { uspShard, uspUnshard, zigzagShard } from '../../src/parallel/ring/shard-batch.js';
import { hybridAttentionBytes, ringAttentionBytes } from '../../src/parallel/ring/volume.js';
import { uspRanges, zigzagRanges } from '../../src/parallel/ring/zigzag.js';
import { uspDegrees } from '../../src/parallel/usp/degrees.js';
import { buildConfig, ringSizeOf, type ConfigLayer } from '../../src/train/config.js';
import { uspShardGlobalBatch } from '../../src/train/data/usp-source.js';
import { ConfigError } from '../../src/train/errors.js';
import { globalBatches } from './fixtures.js';
import type { TokenBatch } from '../../src/nn/causal-lm.js';
import { ulyssesEqualSplitElements } from '../../src/parallel/ulysses/volume.js';

test('zigzag: ring member r holds chunks r and 2P-1-r; hybrid splits each share over its ulysses ranks', () => {
  assert.deepEqual(zigzagRanges(16, 4, 0), [{ start: 0, count: 2 }, { start: 14, count: 2 }]);
  assert.deepEqual(zigzagRanges(16, 4, 3), [{ start: 6, count: 2 }, { start: 8, count: 2 }]);
  // U = 2, R = 2, N = 12: ring member 0 holds chunks 0 and 3 (tokens 0-2, 9-11), member 1 chunks 1 and 2.
  assert.deepEqual(uspRanges(12, 2, 2, 0), [{ start: 0, count: 3 }]);
  assert.deepEqual(uspRanges(12, 2, 2, 1), [{ start: 9, count: 3 }]);
  assert.deepEqual(uspRanges(12, 2, 2, 2), [{ start: 3, count: 3 }]);
  assert.deepEqual(uspRanges(12, 2, 2, 3), [{ start: 6, count: 3 }]);
  // U = 3 over a share of 4 tokens (chunks of 2): pieces of 2, 1, 1 in the share's order (chunk j, then chunk 2R-1-j).
  assert.deepEqual(uspRanges(8, 3, 2, 0), [{ start: 0, count: 2 }]);
  assert.deepEqual(uspRanges(8, 3, 2, 1), [{ start: 6, count: 1 }]);
  assert.deepEqual(uspRanges(8, 3, 2, 4), [{ start: 4, count: 1 }]);
  assert.deepEqual(uspRanges(10, 2, 1, 0), [{ start: 0, count: 5 }], 'R = 1 is the Ulysses layout');
});

test('zigzag and hybrid pieces keep global positions and targets and reassemble the batch', () => {
  const [batch] = globalBatches(1, 2, 24, 50, 3, true);
  if (!batch) throw new Error('no batch');
  for (const [U, R] of [[1, 2], [1, 3], [1, 4], [2, 2], [3, 2], [2, 3]] as const) {
    const pieces: TokenBatch[] = Array.from({ length: U * R }, (_, s) => uspShard(batch, U, R, s));
    for (const [s, p] of pieces.entries()) {
      const ranges = uspRanges(24, U, R, s);
      assert.equal(p.T, 24 / (U * R), `U${U} R${R} rank ${s} holds N / sp tokens`);
      assert.deepEqual(Array.from(p.positions.subarray(0, ranges[0]?.count)), Array.from({ length: ranges[0]?.count ?? 0 }, (_, i) => (ranges[0]?.start ?? 0) + i));
    }
    assert.deepEqual(uspUnshard(pieces, U, R), batch, `U${U} x R${R}: the pieces reassemble the batch`);
  }
  const z = zigzagShard(batch, 2, 0);
  assert.deepEqual(Array.from(z.positions.subarray(0, 12)), [0, 1, 2, 3, 4, 5, 18, 19, 20, 21, 22, 23]);
  const rows = uspShardGlobalBatch(batch, { dpRank: 1, dp: 2, spRank: 1, sp: 2, ulysses: 1, ring: 2 });
  assert.deepEqual([rows.B, Array.from(rows.positions.subarray(0, 3))], [1, [6, 7, 8]], 'data-parallel rank 1 keeps row 1');
  assert.deepEqual(Array.from(rows.tokens), Array.from(batch.tokens.subarray(24 + 6, 24 + 18)));
});

test('the volume formulas: forward (P-1) k,v blocks, backward (P-1) k,v blocks and P dk,dv blocks', () => {
  // B=2, N=16, P=4, Hkv=2, D=8: a k,v block is 2·2·4·2·8 = 256 elements = 1024 bytes.
  assert.deepEqual(ringAttentionBytes(2, 16, 4, 4, 2, 8), { forward: { sent: 3072, received: 3072 }, backward: { sent: 7168, received: 7168 } });
  assert.deepEqual(ringAttentionBytes(2, 16, 1, 4, 2, 8).backward, { sent: 0, received: 0 });
  // Hybrid 2 x 2 (H = Hkv = 4): Ulysses over 8 tokens (4 per rank, 2 heads each) plus a ring of 2 over 2 heads.
  const h = hybridAttentionBytes(1, 16, 2, 2, 4, 4, 2);
  const a2a = ulyssesEqualSplitElements(1, 8, 2, 4, 4, 2); // (2h + 2h_kv)·B·(8/2)·(1/2) = 64 elements
  assert.equal(a2a, 64);
  const ring = ringAttentionBytes(1, 16, 2, 2, 2, 2);
  assert.equal(h.forward.sent, a2a * 4 + ring.forward.sent);
  assert.equal(h.backward.sent, a2a * 4 + ring.backward.sent);
});

test('RingAttention refuses document masks, windows, block layouts and odd token counts', () => {
  const comm = singleRankCommunicator();
  const ring = new RingAttention(createReferenceKernels(), comm, comm.world);
  const shape = { B: 1, T: 4, H: 1, Hkv: 1, D: 2 };
  const buf = (): Float32Array => new Float32Array(8);
  assert.throws(() => ring.forward(buf(), buf(), buf(), buf(), shape, { causal: true, docIds: new Int32Array(4) }),
    /ring attention supports causal and full attention only, not document masks \(docIds\); use sequence_parallel\.mode "ulysses"/);
  assert.throws(() => ring.forward(buf(), buf(), buf(), buf(), shape, { causal: true, docIds: null, window: 2 }), /not sliding windows/);
  assert.throws(() => ring.forward(new Float32Array(6), new Float32Array(6), new Float32Array(6), new Float32Array(6), { ...shape, T: 3 }, { causal: true, docIds: null }),
    /got 3 tokens; the zigzag layout gives every member two equal chunks, so T must be even/);
  assert.throws(() => zigzagRanges(10, 3, 0), /sequence length 10 is not a positive multiple of 6/);
  assert.throws(() => uspRanges(4, 3, 2, 0), /a ring member's share of 2 tokens is split over ulysses degree 3/);
});

const set = (path: string, value: unknown): ConfigLayer => ({ kind: 'set', path, value, source: 'test' });
const small = [set('model.n_heads', 4), set('model.d_model', 32), set('model.type', 'llama'), set('model.tie_embeddings', false), set('model.n_kv_heads', 2), set('data.seq_len', 48)];

function refuses(layers: ConfigLayer[], pattern: RegExp): void {
  assert.throws(() => buildConfig([...small, ...layers]), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('config: ring and hybrid sizes and the attention they cannot split are refused with what would work', () => {
  const ring = (sp: number): ConfigLayer[] => [set('sequence_parallel_size', sp), set('sequence_parallel.mode', 'ring')];
  const hybrid = (sp: number, R: number | 'auto'): ConfigLayer[] => [set('sequence_parallel_size', sp), set('sequence_parallel.mode', 'hybrid'), set('sequence_parallel.ring_size', R)];
  assert.equal(ringSizeOf(buildConfig([...small, ...ring(8)])), 8, 'mode ring allows sp above n_heads, up to seq_len / 2');
  refuses(ring(5), /mode "ring" cuts data\.seq_len \(48\) into 2 x sequence_parallel_size = 10 equal zigzag chunks; use a data\.seq_len divisible by 10 or a sequence_parallel_size in 2, 3, 4, 6, 8, 12, 24/);
  refuses([...ring(4), set('sequence_parallel.ring_size', 2)], /mode "ring" passes k\/v around all sequence_parallel_size = 4 ranks, so sequence_parallel\.ring_size must be "auto" or 4/);
  refuses([...ring(2), set('attention.kind', 'sliding_window'), set('attention.window', 4)], /mode "ring" supports attention\.kind "flash" and "dense", not "sliding_window"/);
  refuses([...ring(2), set('data.pack_documents', true)], /cannot mask packed documents \(data\.pack_documents\)/);
  refuses([...ring(2), set('bf16.enabled', true)], /mode "ring" sends fp32 only/);
  assert.equal(ringSizeOf(buildConfig([...small, ...hybrid(8, 'auto')])), 4, 'auto: the smallest ring whose ulysses degree divides n_kv_heads');
  assert.equal(ringSizeOf(buildConfig([...small, ...hybrid(8, 2)])), 2);
  refuses(hybrid(8, 3), /sequence_parallel\.ring_size \(3\) must divide sequence_parallel_size \(8\); use one of 1, 2, 4, 8 or "auto"/);
  refuses(hybrid(8, 1), /ulysses degree 8 \(sequence_parallel_size 8 \/ ring_size 1\) exceeds n_heads = 4.*use a ring_size in 2, 4, 8/);
  refuses([...hybrid(4, 2), set('data.seq_len', 18)], /2 x ring_size = 4 equal chunks, but the sequence length 18 is not a multiple of 4/);
  assert.equal(ringSizeOf(buildConfig([...small, set('sequence_parallel_size', 4)])), 1, 'mode ulysses has no ring');
  assert.deepEqual(uspDegrees(6, 'auto', 2, 6, 24), { ulysses: 2, ring: 3 });
  assert.deepEqual(uspDegrees(4, 'auto', 1, 2, 12), { ulysses: 2, ring: 2 }, 'auto: a ring of 4 cannot cut 12 tokens into 8 chunks, so U = 2 shares the kv head');
});
