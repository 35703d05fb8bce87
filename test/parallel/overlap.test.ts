// Ulysses overlap inside a transformer block: the k and v all-to-alls start before the q
// projection's GEMM and are waited after it, and the dout all-to-all starts before the output
// projection's weight-gradient GEMM and is waited after it. Staging changes no bit of the result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchThreads } from '../../src/dist/threads/launcher.js';
import type { OverlapResult } from './overlap-worker.js';

const entry = new URL('./overlap-worker.js', import.meta.url);

/** Index of the one event `name` in log. */
function at(log: string[], name: string): number {
  const i = log.indexOf(name);
  assert.ok(i >= 0 && log.indexOf(name, i + 1) < 0, `exactly one '${name}' in ${log.join(', ')}`);
  return i;
}

test('k/v all-to-alls overlap the q projection and dout overlaps the o_proj weight gradient (P=2)', { timeout: 60_000 }, async () => {
  const results = (await launchThreads<OverlapResult[]>(2, entry, {})).flat();
  assert.equal(results.length, 4);
  for (const r of results) {
    const label = `${r.block}: `;
    // Forward all-to-alls in start order: k, v, q, out; backward: dout, dq, dk, dv.
    assert.equal(r.a2aSizes.length, 8, `${label}all-to-all count`);
    const [kSize, vSize, qSize] = r.a2aSizes as [number, number, number];
    assert.ok(kSize === vSize && kSize * r.group === qSize, `${label}k and v start before q: sizes ${r.a2aSizes.join(',')}`);
    const q = at(r.forward, 'sgemm q');
    for (const id of [0, 1]) {
      assert.ok(at(r.forward, `a2a-start ${id}`) < q, `${label}a2a ${id} starts before the q projection`);
      assert.ok(at(r.forward, `a2a-wait ${id}`) > q, `${label}a2a ${id} is waited after the q projection`);
    }
    assert.ok(at(r.forward, 'a2a-start 2') > q, `${label}q's all-to-all starts after its projection`);
    const dw = at(r.backward, 'sgemm oproj-dw');
    assert.ok(at(r.backward, 'a2a-start 4') < dw, `${label}dout's all-to-all starts before the o_proj weight gradient`);
    assert.ok(at(r.backward, 'a2a-wait 4') > dw, `${label}dout's all-to-all is waited after the o_proj weight gradient`);
    assert.ok(r.identical, `${label}staged and unstaged runs are bit-identical`);
  }
});
