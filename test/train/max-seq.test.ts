// `ulysses train --max-seq`: the search over sequence lengths with a stand-in probe whose memory is
// a known line (the answer is exact), a probe whose real memory is worse than its line (the length
// shrinks until a real step fits), refusals, byte sizes, and one end-to-end search of a tiny model
// in a small budget with real training steps in child processes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildConfig, type UlyssesConfig } from '../../src/train/config.js';
import { accountingBytes, findMaxSeq, formatMaxSeq, parseByteSize, type ProbeResult } from '../../src/train/max-seq.js';
import { processProbe } from '../../src/train/max-seq-probe.js';

const MiB = 2 ** 20;

function tiny(sp: number): UlyssesConfig {
  const set: Record<string, unknown> = {
    'model.type': 'gpt', 'model.d_model': 32, 'model.n_layers': 2, 'model.n_heads': 2, 'model.vocab_size': 4096,
    'model.max_seq_len': 256, 'data.seq_len': 256, 'data.val_fraction': 0, sequence_parallel_size: sp, 'train.threads': 1,
    'train.backend': 'threads',
  };
  return buildConfig(Object.entries(set).map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'test' })));
}

test('with memory = accounting + 40 MiB + 2 KiB per token, the longest length is found exactly', async () => {
  const c = tiny(2);
  const real = (N: number): number => accountingBytes(c, N) + 40 * MiB + 2048 * N;
  const budget = 150 * MiB;
  const probed: number[] = [];
  const r = await findMaxSeq(c, {
    budget, granule: 128,
    probe: async (cN): Promise<ProbeResult> => {
      probed.push(cN.data.seq_len);
      return { N: cN.data.seq_len, measured: real(cN.data.seq_len) };
    },
  });
  assert.ok(real(r.N) <= budget && real(r.N + 128) > budget, `N = ${r.N} is the longest multiple of 128 under the budget`);
  assert.equal(r.N % 128, 0);
  assert.ok(r.accountingN > r.N, 'the accounting alone, missing 40 MiB and 2 KiB per token, allows more');
  assert.equal(probed.length, 3, 'two short steps and one confirming step');
  assert.equal(r.steps.at(-1)?.N, r.N);
  const lines = formatMaxSeq(c, r);
  assert.match(lines.at(-1) as string, new RegExp(`longest sequence: ${r.N} tokens`));
});

test('a step over budget at the fitted length makes the search shrink and confirm again', async () => {
  const c = tiny(1);
  // Linear below 2000 tokens, then an extra 30 MiB appears (a buffer the short steps never needed).
  const real = (N: number): number => accountingBytes(c, N) + 20 * MiB + (N > 2000 ? 30 * MiB : 0);
  const budget = accountingBytes(c, 4000) + 20 * MiB;
  const r = await findMaxSeq(c, { budget, granule: 64, probe: async (cN) => ({ N: cN.data.seq_len, measured: real(cN.data.seq_len) }) });
  assert.ok(r.steps.length >= 4, `the first confirming step failed and another ran (${r.steps.map((s) => s.N).join(', ')})`);
  assert.ok(real(r.N) <= budget, `the answer ${r.N} fits`);
  assert.ok((r.steps.at(-2)?.measured ?? 0) > budget, 'the step before the answer was over budget');
});

test('a budget the accounting cannot meet even for one granule is refused with the sizes', async () => {
  await assert.rejects(
    findMaxSeq(tiny(1), { budget: 1 * MiB, probe: async () => assert.fail('no step should run') }),
    /even 64 tokens need .* MiB per rank by the memory accounting, over the budget of 1\.0 MiB/,
  );
});

test('byte sizes: binary and decimal units, plain counts, and unreadable text refused', () => {
  assert.equal(parseByteSize('24GiB'), 24 * 2 ** 30);
  assert.equal(parseByteSize('512MiB'), 512 * MiB);
  assert.equal(parseByteSize('800M'), 800 * MiB);
  assert.equal(parseByteSize('1.5GB'), 1.5e9);
  assert.equal(parseByteSize('4096'), 4096);
  assert.throws(() => parseByteSize('lots'), /cannot read "lots"; write a size such as 24GiB/);
});

test('end to end: a tiny GPT on 2 worker threads in 240 MiB per rank, confirmed by a real step', { timeout: 120_000 }, async () => {
  const c = tiny(2);
  const budget = 240 * MiB;
  const r = await findMaxSeq(c, { budget, granule: 128, probe: processProbe(c) });
  const last = r.steps.at(-1);
  assert.ok(last && last.N === r.N && last.measured <= budget, `measured ${(last?.measured ?? 0) / MiB} MiB at N = ${r.N}`);
  assert.ok(r.N >= 256, `a budget this size holds at least 256 tokens, got ${r.N}`);
  // Peak memory grows with N: the short steps measured less than the final one.
  assert.ok((r.steps[0]?.measured ?? Infinity) < last.measured, 'peak memory grows with the sequence length');
  for (const s of r.steps) assert.ok(s.measured > 0 && s.accounting > 0);
});
