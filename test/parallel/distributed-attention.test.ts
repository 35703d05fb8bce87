// DistributedAttention equals attention over the whole sequence, forward and backward, for any
// split: uneven tokens and heads, GQA with fewer kv heads than ranks (and a rank whose kv must be
// expanded), document masks, B > 1, native and reference kernels. Bytes per layer equal the
// formula to the byte, and the equal-split formula (2h + 2h_kv)·B·(N/P)·(P−1)/P where it applies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { AttnCase, AttnResult } from './attention-worker.js';

const entry = new URL('./attention-worker.js', import.meta.url);
const base = { causal: true, docs: false, kernels: 'native' } as const;

const cases: Record<number, AttnCase[]> = {
  2: [
    { ...base, B: 2, N: 16, H: 4, Hkv: 4, D: 8 },
    { ...base, B: 2, N: 13, H: 3, Hkv: 3, D: 4, docs: true },
    { ...base, B: 1, N: 12, H: 4, Hkv: 2, D: 4, kernels: 'reference', docs: true },
    { ...base, B: 2, N: 12, H: 4, Hkv: 1, D: 4, causal: false },
  ],
  3: [
    { ...base, B: 2, N: 14, H: 6, Hkv: 2, D: 4, docs: true },
    { ...base, B: 2, N: 11, H: 8, Hkv: 2, D: 4 },
    { ...base, B: 2, N: 12, H: 6, Hkv: 3, D: 4 },
  ],
  4: [
    { ...base, B: 2, N: 13, H: 6, Hkv: 6, D: 4, docs: true },
    { ...base, B: 2, N: 12, H: 4, Hkv: 2, D: 4 },
    { ...base, B: 2, N: 15, H: 6, Hkv: 2, D: 4, causal: false },
    { ...base, B: 2, N: 16, H: 8, Hkv: 4, D: 4 },
  ],
};

for (const P of [2, 3, 4]) {
  test(`DistributedAttention matches full-sequence attention and the byte formula on P=${P}`, { timeout: 60_000 }, async () => {
    const results = (await launchThreads<AttnResult[]>(P, entry, { cases: cases[P] })).flat();
    for (const r of results) {
      for (const [name, e] of Object.entries(r.err)) assert.ok(e <= 1e-5, `${r.label}: ${name} relative L2 error ${e}`);
      assert.deepEqual(r.fwd, r.fwdFormula, `${r.label}: forward bytes [sent, received]`);
      assert.deepEqual(r.bwd, r.bwdFormula, `${r.label}: backward bytes [sent, received]`);
      if (r.equalFormula !== null) {
        const fwd = r.equalFormula + r.equalDocBytes;
        assert.deepEqual(r.fwd, [fwd, fwd], `${r.label}: forward bytes vs the equal-split formula (+ docIds)`);
        assert.deepEqual(r.bwd, [r.equalFormula, r.equalFormula], `${r.label}: backward bytes vs the equal-split formula`);
      }
    }
    if (P === 3) assert.ok(results.some((r) => r.expanded), 'H=8, Hkv=2 on 3 ranks expands kv on one rank');
    if (P === 4) assert.ok(results.some((r) => r.equalFormula !== null), 'an equal-split case ran');
  });
}
