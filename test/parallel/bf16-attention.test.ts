// bf16 all-to-alls in DistributedAttention: forward and backward stay within bf16 rounding of
// full-sequence fp32 attention (each of q, k, v, out, dout, dq, dk, dv is rounded once to 8
// significant bits, relative error up to 2^-9 per element), the bytes on the wire are exactly
// the volume formula with 2 bytes per element (half of fp32's, docIds all-gather aside), and the
// fp32 wire stays exact. Uneven splits, GQA kv shared by ranks, B > 1 and B = 1 are covered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { Bf16Case, Bf16Result } from './bf16-attention-worker.js';

const entry = new URL('./bf16-attention-worker.js', import.meta.url);

/** Relative L2 error of attention with bf16 payloads against fp32: a few bf16 roundings, well under 1%. */
const BF16_TOL = 1e-2;

const cases: Record<number, Bf16Case[]> = {
  2: [
    { B: 2, N: 16, H: 4, Hkv: 4, D: 8, docs: false },
    { B: 1, N: 13, H: 3, Hkv: 3, D: 8, docs: true },
  ],
  4: [
    { B: 1, N: 32, H: 8, Hkv: 8, D: 16, docs: false },
    { B: 2, N: 15, H: 6, Hkv: 2, D: 8, docs: true },
  ],
};

for (const P of [2, 4]) {
  test(`bf16 all-to-alls stay within ${BF16_TOL} of fp32 and halve the bytes on P=${P}`, { timeout: 60_000 }, async () => {
    const results = (await launchThreads<Bf16Result[]>(P, entry, { cases: cases[P] })).flat();
    for (const r of results) {
      for (const [name, e] of Object.entries(r.fp32.err)) assert.ok(e <= 1e-5, `${r.label} fp32 wire: ${name} relative L2 ${e}`);
      for (const [name, e] of Object.entries(r.bf16.err)) {
        assert.ok(e <= BF16_TOL, `${r.label} bf16 wire: ${name} relative L2 ${e} > ${BF16_TOL}`);
        // Rounding to bf16 must show: an error at fp32 level would mean the payload stayed fp32.
        assert.ok(e >= 1e-5, `${r.label} bf16 wire: ${name} relative L2 ${e} is at fp32 level`);
      }
      for (const w of [r.fp32, r.bf16]) {
        assert.deepEqual(w.fwd, w.fwdFormula, `${r.label}: forward bytes [sent, received]`);
        assert.deepEqual(w.bwd, w.bwdFormula, `${r.label}: backward bytes [sent, received]`);
      }
      assert.deepEqual(r.bf16.bwd, r.fp32.bwd.map((x) => x / 2), `${r.label}: bf16 backward moves half the bytes`);
    }
  });
}
