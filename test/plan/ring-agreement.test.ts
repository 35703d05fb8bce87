// The planner's per-layer bytes for ring and hybrid Ulysses x ring layouts (its split of the
// hybrid formula into all-to-all and ring parts included) against what the engine's ring and USP
// attention cores send on the threads backend, to the byte, for every rank.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { ModelConfig } from '../../src/nn/model-config.js';
import { sequenceLayerBytes } from '../../src/plan/sequence-volume.js';
import type { Layout } from '../../src/plan/layouts.js';
import type { RingBytes, RingCase } from './ring-bytes-worker.js';

const entry = new URL('./ring-bytes-worker.js', import.meta.url);

const cases: Record<number, RingCase[]> = {
  2: [{ U: 1, R: 2, B: 2, N: 16, H: 4, Hkv: 2, D: 4 }],
  4: [
    { U: 1, R: 4, B: 1, N: 32, H: 2, Hkv: 1, D: 8 },
    { U: 2, R: 2, B: 2, N: 16, H: 4, Hkv: 2, D: 4 },
  ],
  8: [{ U: 4, R: 2, B: 1, N: 32, H: 8, Hkv: 4, D: 4 }, { U: 2, R: 4, B: 1, N: 32, H: 6, Hkv: 2, D: 4 }],
};

for (const P of [2, 4, 8]) {
  test(`ring and hybrid attention send what the planner predicts on ${P} ranks`, { timeout: 120_000 }, async () => {
    const results = await launchThreads<RingBytes[]>(P, entry, cases[P]);
    (cases[P] as RingCase[]).forEach((c, i) => {
      const model = { arch: 'llama', d_model: c.H * c.D, n_heads: c.H, n_kv_heads: c.Hkv } as ModelConfig;
      const layout: Layout = { strategy: c.U > 1 ? 'hybrid' : 'ring', sp: P, dp: 1, ulysses: c.U, ring: c.R };
      const want = sequenceLayerBytes(model, c.B, c.N, layout, 4);
      const label = `U ${c.U} x R ${c.R}, B ${c.B}, N ${c.N}, H ${c.H}, Hkv ${c.Hkv}`;
      assert.ok(want.ring.forward > 0, `${label}: the ring part is not empty`);
      for (const r of results) {
        const got = r[i] as RingBytes;
        // Every member of these equal splits sends as much as member 0, whom the planner asks about.
        assert.equal(got.ring, want.ring.forward + want.ring.backward, `${label}: rank ${got.rank} ring-group bytes`);
        assert.equal(got.ulysses, want.collective.forward + want.collective.backward, `${label}: rank ${got.rank} ulysses-group bytes`);
      }
    });
  });
}
