// Every attention variant runs unchanged under DistributedAttention: sliding window, BigBird
// (shared and per-head layouts), Sparse Transformer fixed and strided layouts, packed documents
// with a window, and all at once, on P = 2, 3, 4 with uneven token and head splits, odd head
// counts and GQA (including ranks whose kv heads are expanded locally). Each equals the same local
// core on the whole sequence to relative L2 1e-5, forward and backward, and moves exactly the
// bytes of dense attention. Layouts that do not cover the full sequence are refused up front.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bigBirdLayout } from '../../src/attention/block-sparse-layouts.js';
import { LocalAttention } from '../../src/attention/local-attention.js';
import { RankFailedError, launchThreads, singleRankCommunicator } from '../../src/dist/threads/launcher.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { DistributedAttention } from '../../src/parallel/ulysses/distributed-attention.js';
import { checkUlyssesMask } from '../../src/parallel/ulysses/local-mask.js';
import { relL2 } from '../helpers.js';
import type { VariantCase, VariantResult } from './attention-variants-worker.js';

const entry = new URL('./attention-variants-worker.js', import.meta.url);

/** The variants on one model shape: each case differs from plain attention by its mask only. */
function variants(shape: Pick<VariantCase, 'N' | 'H' | 'Hkv'>, bs: number): VariantCase[] {
  const c = { ...shape, B: 2, D: 4, causal: true, docs: false, kernels: 'native' } as const;
  return [
    { ...c, name: 'sliding window', window: 4 },
    { ...c, name: 'bidirectional window', causal: false, window: 3 },
    { ...c, name: 'BigBird shared', layout: { kind: 'bigbird', blockSize: bs, perHead: false } },
    { ...c, name: 'BigBird per-head', causal: false, layout: { kind: 'bigbird', blockSize: bs, perHead: true } },
    { ...c, name: 'fixed', layout: { kind: 'fixed', blockSize: bs - 1, perHead: false } },
    { ...c, name: 'strided', causal: false, layout: { kind: 'strided', blockSize: bs - 1, perHead: false } },
    { ...c, name: 'packed docs + window', docs: true, window: 3 },
    { ...c, name: 'per-head BigBird + docs + window', docs: true, window: 5, layout: { kind: 'bigbird', blockSize: bs, perHead: true } },
  ];
}

// N % P != 0 everywhere; odd head counts; GQA with uniform and expanded local kv maps.
const cases: Record<number, VariantCase[]> = {
  2: [
    ...variants({ N: 13, H: 3, Hkv: 3 }, 3),
    ...variants({ N: 15, H: 6, Hkv: 2 }, 2).filter((c) => c.layout?.perHead),
  ],
  3: [
    ...variants({ N: 17, H: 9, Hkv: 3 }, 3),
    // H=8, Hkv=2: rank 1 holds query heads 3,4,5 reading kv 0,1,1, so its kv is expanded locally.
    ...variants({ N: 16, H: 8, Hkv: 2 }, 3).filter((c) => c.layout?.perHead || c.window),
    { ...(variants({ N: 14, H: 8, Hkv: 2 }, 3)[7] as VariantCase), name: 'per-head BigBird + docs + window (reference)', kernels: 'reference' },
  ],
  4: [
    ...variants({ N: 18, H: 7, Hkv: 7 }, 4),
    ...variants({ N: 19, H: 5, Hkv: 1 }, 3).filter((c) => c.layout),
    // H=10, Hkv=2: rank 1 holds query heads 3,4,5 reading kv 0,0,1, expanded locally.
    ...variants({ N: 14, H: 10, Hkv: 2 }, 3).filter((c) => c.layout?.perHead),
  ],
};

for (const P of [2, 3, 4]) {
  test(`attention variants under DistributedAttention equal whole-sequence attention on P=${P}`, { timeout: 60_000 }, async () => {
    const results = (await launchThreads<VariantResult[]>(P, entry, { cases: cases[P] })).flat();
    assert.equal(results.length, P * (cases[P] as VariantCase[]).length, 'one result per case and rank');
    for (const r of results) {
      for (const [name, e] of Object.entries(r.err)) assert.ok(e <= 1e-5, `${r.label}: ${name} relative L2 error ${e}`);
      // A mask that changed nothing would make the comparison vacuous.
      assert.ok(r.vsDense > 1e-2, `${r.label}: the mask changes the output (relL2 vs plain attention ${r.vsDense})`);
      if (r.headsDiffer !== null) assert.ok(r.headsDiffer, `${r.label}: per-head layout has distinct heads`);
      // Windows and layouts add no communication: the bytes are those of dense attention.
      assert.deepEqual(r.fwd, r.fwdFormula, `${r.label}: forward bytes [sent, received]`);
      assert.deepEqual(r.bwd, r.bwdFormula, `${r.label}: backward bytes [sent, received]`);
    }
    if (P !== 2) {
      assert.ok(results.some((r) => r.expanded && r.label.includes('per-head')), 'a per-head layout ran on a rank with expanded kv');
    }
    if (P === 3) assert.ok(results.some((r) => r.label.includes('reference')), 'the reference kernels ran');
  });
}

test('a layout that does not cover the full sequence, or has the wrong head count, is refused with a clear message', () => {
  const shared = bigBirdLayout({ T: 13, blockSize: 3, localBlocks: 1, globalBlocks: 1, randomBlocks: 0, seed: 1 });
  const mask = { causal: true, docIds: null };
  assert.doesNotThrow(() => checkUlyssesMask({ ...mask, blockLayout: shared, window: 4 }, 13, 4, 7));
  const forShard = bigBirdLayout({ T: 7, blockSize: 3, localBlocks: 1, globalBlocks: 1, randomBlocks: 0, seed: 1 });
  assert.throws(() => checkUlyssesMask({ ...mask, blockLayout: forShard }, 13, 4, 7),
    /nBlocks = 3, but the full sequence of N = 13 tokens with blockSize 3 needs ceil\(N \/ blockSize\) = 5; it looks built for this rank's shard of 7 tokens.*build the layout with T = 13/);
  const short = bigBirdLayout({ T: 10, blockSize: 3, localBlocks: 1, globalBlocks: 1, randomBlocks: 0, seed: 1 });
  assert.throws(() => checkUlyssesMask({ ...mask, blockLayout: short }, 13, 4, 7), /nBlocks = 4, .* needs ceil\(N \/ blockSize\) = 5; under Ulysses/);
  const threeHeads = bigBirdLayout({ T: 13, blockSize: 3, heads: 3, localBlocks: 1, globalBlocks: 1, randomBlocks: 1, seed: 1 });
  assert.throws(() => checkUlyssesMask({ ...mask, blockLayout: threeHeads }, 13, 4, 7), /heads is 3; it must be 1 \(shared\) or n_heads = 4/);
  assert.throws(() => checkUlyssesMask({ ...mask, window: -1 }, 13, 4, 7), /window must be a non-negative integer/);
});

test('every rank refuses a layout built for its shard, naming the fix, and none waits on an all-to-all', { timeout: 30_000 }, async () => {
  const bad: VariantCase = {
    name: 'shard layout', B: 1, N: 12, H: 2, Hkv: 2, D: 2, causal: true, docs: false, kernels: 'reference',
    layout: { kind: 'fixed', blockSize: 3, perHead: false, T: 6 },
  };
  await assert.rejects(launchThreads(2, entry, { cases: [bad] }), (e: unknown) => {
    assert.ok(e instanceof RankFailedError);
    for (const err of e.errors) {
      assert.match(err?.message ?? 'finished', /nBlocks = 2, but the full sequence of N = 12 .* needs ceil\(N \/ blockSize\) = 4; it looks built for this rank's shard of 6 tokens/);
    }
    return true;
  });
});

test('one rank: window and a per-head layout pass through to the local core', () => {
  const comm = singleRankCommunicator();
  const core = new LocalAttention(createReferenceKernels());
  const attn = new DistributedAttention(core, comm, comm.world, { seqLen: 9 });
  const shape = { B: 1, T: 9, H: 2, Hkv: 1, D: 3 };
  const q = Float32Array.from({ length: 9 * 2 * 3 }, (_, i) => Math.sin(i));
  const k = Float32Array.from({ length: 9 * 3 }, (_, i) => Math.cos(i));
  const v = Float32Array.from({ length: 9 * 3 }, (_, i) => Math.sin(2 * i));
  const layout = bigBirdLayout({ T: 9, blockSize: 2, heads: 2, localBlocks: 0, globalBlocks: 1, randomBlocks: 1, seed: 3, causal: true });
  const mask = { causal: true, docIds: null, window: 3, blockLayout: layout };
  const want = new Float32Array(q.length);
  core.forward(want, q, k, v, shape, mask);
  const got = new Float32Array(q.length);
  attn.forward(got, q, k, v, shape, mask);
  assert.ok(relL2(got, want) <= 1e-6, `relL2 ${relL2(got, want)}`);
  assert.throws(() => attn.forward(got, q, k, v, shape, { ...mask, blockLayout: { ...layout, nBlocks: 4 } }), /needs ceil\(N \/ blockSize\) = 5/);
});
