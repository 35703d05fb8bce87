// Ring attention (zigzag layout) and hybrid Ulysses x ring attention equal attention over the
// whole sequence, forward and backward, for rings of 2, 3 and 4, causal and full masks, B > 1,
// GQA (including a hybrid split whose kv heads are expanded on some rank), native and reference
// kernels; bytes per layer equal ringAttentionBytes / hybridAttentionBytes to the byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { RingCase, RingResult } from './ring-attention-worker.js';

const entry = new URL('./ring-attention-worker.js', import.meta.url);
const base = { causal: true, kernels: 'native' } as const;

const cases: Record<number, RingCase[]> = {
  2: [
    { ...base, B: 2, N: 16, H: 4, Hkv: 4, D: 8, R: 2 },
    { ...base, B: 2, N: 12, H: 4, Hkv: 2, D: 4, R: 2, kernels: 'reference' },
    { ...base, B: 1, N: 8, H: 2, Hkv: 1, D: 4, R: 2, causal: false },
  ],
  3: [
    { ...base, B: 2, N: 18, H: 4, Hkv: 2, D: 4, R: 3 },
    { ...base, B: 2, N: 12, H: 3, Hkv: 1, D: 4, R: 3, kernels: 'reference' },
  ],
  4: [
    { ...base, B: 2, N: 24, H: 4, Hkv: 1, D: 4, R: 4 },
    { ...base, B: 2, N: 16, H: 2, Hkv: 2, D: 4, R: 4, causal: false },
    // Hybrid: 2 x 2, more ranks than kv heads; 2 x 2 with H = 2 (P = 4 exceeds the head count).
    { ...base, B: 2, N: 20, H: 4, Hkv: 2, D: 4, R: 2 },
    { ...base, B: 2, N: 16, H: 2, Hkv: 1, D: 8, R: 2 },
    { ...base, B: 2, N: 12, H: 4, Hkv: 4, D: 4, R: 2, kernels: 'reference' },
  ],
  6: [
    // Hybrid 3 x 2 with H = 6, Hkv = 2: ulysses ranks read 1, 2 and 1 kv heads, so their ring blocks differ.
    { ...base, B: 2, N: 20, H: 6, Hkv: 2, D: 4, R: 2 },
  ],
};

for (const P of [2, 3, 4, 6]) {
  test(`ring / hybrid attention match full-sequence attention and the byte formulas on ${P} ranks`, { timeout: 60_000 }, async () => {
    const results = (await launchThreads<RingResult[]>(P, entry, { cases: cases[P] })).flat();
    assert.equal(results.length, P * (cases[P] as RingCase[]).length);
    for (const r of results) {
      for (const [name, e] of Object.entries(r.err)) assert.ok(e <= 1e-5, `${r.label}: ${name} relative L2 error ${e}`);
      assert.deepEqual(r.fwd, r.fwdFormula, `${r.label}: forward bytes [sent, received]`);
      assert.deepEqual(r.bwd, r.bwdFormula, `${r.label}: backward bytes [sent, received]`);
      assert.ok((r.byGroup['ring'] ?? 0) > 0, `${r.label}: k/v blocks travel in the ring group`);
    }
  });
}
