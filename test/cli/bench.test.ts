import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { BENCH_FILES } from '../../src/cli/bench-command.js';
import { parseBytes, parseIntList } from '../../src/cli/bench/options.js';
import type { BenchReport } from '../../src/cli/bench/results.js';
import { errorLine, summarizeSteps } from '../../src/cli/bench/runner.js';
import { formatTables, markdownTables } from '../../src/cli/bench/table.js';
import type { StepMetrics } from '../../src/train/metrics.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'ulysses-bench-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function ulysses(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bench trains ulysses on a tiny grid and its bytes per rank equal the formula', () => {
  const out = join(dir, 'out');
  // The tiny preset: GPT, d_model 32, 2 layers, 4 heads (head size 8), batch 1.
  const r = ulysses('bench', '--modes', 'ulysses,megatron', '--model', 'tiny', '--seq', '32,64', '--sp', '1,2', '--steps', '1', '--mem-budget', '64MiB', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^mode +P +N +step ms .*measured\/formula/m);
  const report = JSON.parse(readFileSync(join(out, BENCH_FILES.json), 'utf8')) as BenchReport;
  const u = report.rows.filter((x) => x.mode === 'ulysses');
  assert.deepEqual(u.map((x) => [x.P, x.N, x.status]), [[1, 32, 'ok'], [1, 64, 'ok'], [2, 32, 'ok'], [2, 64, 'ok']]);
  for (const row of u) {
    const m = row.measured;
    assert.ok(m && row.formula, `${row.P} ${row.N}`);
    assert.ok(m.stepMs > 0 && m.tokensPerS > 0 && m.memPerRank > 0, JSON.stringify(m));
    // Exact: the accounting counts bytes, and the formula counts the same collectives.
    assert.equal(m.bytesPerRank, row.formula.total, `bytes per rank, P=${row.P} N=${row.N}`);
    assert.equal(m.spBytesPerRank, row.formula.layers, `sequence-parallel bytes, P=${row.P} N=${row.N}`);
    // The paper's count, independently: 4 all-to-alls of (N/P)·h elements forward and 4 backward per
    // layer, of which (P-1)/P leave the rank; h = 32, 2 layers, fp32.
    const paper = row.P === 1 ? 0 : 8 * (row.N / row.P) * 32 * ((row.P - 1) / row.P) * 2 * 4;
    assert.equal(m.spBytesPerRank, paper, `the paper's 8·(N/P)·h·(P-1)/P per layer, P=${row.P} N=${row.N}`);
    if (row.P > 1) assert.equal(row.measuredOverFormula, 1);
  }
  // Megatron either runs beside it or says why not; it never stops the bench. When it runs, its bytes
  // equal its formula too, and its own collectives move P times Ulysses' (4·N·h against 4·N·h/P per
  // layer and direction; the sharded-gradient norm adds 8·(P-1) bytes on the same group).
  for (const row of report.rows.filter((x) => x.mode === 'megatron')) {
    assert.match(row.status, /^(ok|not available: .+)$/);
    if (row.status !== 'ok' || row.P === 1) continue;
    assert.equal(row.measuredOverFormula, 1, `megatron P=${row.P} N=${row.N}`);
    const uly = u.find((x) => x.P === row.P && x.N === row.N)?.measured?.spBytesPerRank ?? NaN;
    assert.equal(row.measured?.spBytesPerRank, row.P * uly + 8 * (row.P - 1), `megatron / ulysses at P=${row.P} N=${row.N}`);
  }
  const longest = report.longest.find((l) => l.mode === 'ulysses' && l.P === 2);
  assert.ok(longest?.N && longest.bytes !== null && longest.bytes <= 64 * 2 ** 20, JSON.stringify(longest));
  // Twice the ranks hold about half the tokens each, so the longest sequence grows.
  const one = report.longest.find((l) => l.mode === 'ulysses' && l.P === 1);
  assert.ok(one?.N && longest.N > one.N, `${one?.N} vs ${longest.N}`);
  for (const svg of [BENCH_FILES.stepTime, BENCH_FILES.bytesVsP, BENCH_FILES.longest]) {
    const text = readFileSync(join(out, svg), 'utf8');
    assert.ok(text.startsWith('<svg') && text.includes('ulysses'), svg);
  }
  const md = readFileSync(join(out, BENCH_FILES.markdown), 'utf8');
  assert.match(md, /^\| ulysses \| 2 \| 64 \| /m);
  // --report redraws the same tables from the saved JSON without training.
  rmSync(join(out, BENCH_FILES.markdown));
  const again = ulysses('bench', '--report', join(out, BENCH_FILES.json));
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(out, BENCH_FILES.markdown), 'utf8'), md);
});

test('bench refuses bad flags naming what is allowed', () => {
  const mode = ulysses('bench', '--modes', 'ulysses,deepspeed', '--model', 'tiny');
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /--modes: unknown strategy "deepspeed"; allowed: ulysses, megatron, ring, hybrid/);
  const sp = ulysses('bench', '--modes', 'ulysses', '--model', 'tiny', '--sp', '1,3', '--seq', '48');
  assert.equal(sp.code, 2);
  assert.match(sp.stderr, /--sp 3: ulysses splits the 4 query and 4 kv heads evenly over P ranks; allowed P for this model: 1, 2, 4/);
  const seq = ulysses('bench', '--seq', '1024,x', '--model', 'tiny');
  assert.equal(seq.code, 2);
  assert.match(seq.stderr, /--seq: "x" is not a positive integer/);
  const budget = ulysses('bench', '--mem-budget', 'lots', '--model', 'tiny');
  assert.equal(budget.code, 2);
  assert.match(budget.stderr, /--mem-budget: "lots" is not a size/);
  const model = ulysses('bench', '--model', 'huge');
  assert.equal(model.code, 2);
  assert.match(model.stderr, /--model: "huge" is neither a preset \(reference, tiny\) nor a config file/);
});

test('sizes and lists parse as stated', () => {
  assert.equal(parseBytes('--mem-budget', '1GiB'), 2 ** 30);
  assert.equal(parseBytes('--mem-budget', '512MB'), 512e6);
  assert.equal(parseBytes('--mem-budget', '1.5 kib'), 1536);
  assert.deepEqual(parseIntList('--sp', '4,1,2,2'), [1, 2, 4]);
});

test('the warm-up step is left out and the median of the rest is the step time', () => {
  const step = (time: number, comm: number): StepMetrics => ({
    step: 0, loss: 1, lr: 0, grad_norm: 0, tokens_per_s: 0, mfu: null, time_ms: time, comm_ms: comm, comm_bytes_sent: 100, comm_a2a_bytes_sent: 60,
    mem_params: 1, mem_grads: 2, mem_optimizer: 3, mem_activations: 4, mem_comm: 5, mem_peak: 99,
  });
  const m = summarizeSteps([step(1000, 500), step(30, 3), step(10, 1), step(20, 2)], 2000);
  assert.equal(m.stepMs, 20);
  assert.equal(m.tokensPerS, 2000 / 0.02);
  assert.equal(m.commShare, 6 / 60);
  assert.equal(m.memPerRank, 15);
  assert.equal(m.bytesPerRank, 100);
  assert.equal(m.spBytesPerRank, 60);
  assert.equal(m.steps, 3);
});

test('a strategy that is not available is a row with its reason, and the other rows keep their columns', () => {
  const measured = { stepMs: 12.5, tokensPerS: 5120, bytesPerRank: 3e6, spBytesPerRank: 1e6, commShare: 0.25, memPerRank: 4e6, peakRss: 2e8, steps: 3 };
  const report: BenchReport = {
    command: 'ulysses bench', date: '2026-11-26T18:00:00.000Z', machine: { cpus: 2, loadavgStart: 1, loadavgEnd: 1 }, model: 'tiny',
    batch: 1, layers: 2, steps: 3, memBudgetBytes: 2 ** 30,
    rows: [
      { mode: 'ulysses', P: 2, N: 64, status: 'ok', measured, formula: { layers: 1e6, states: 2e6, total: 3e6, covers: 'step' }, measuredOverFormula: 1, overUlysses: 1, spOverUlysses: 1 },
      { mode: 'ring', P: 2, N: 64, status: 'not available: config key sequence_parallel.mode = "ring" is not supported yet', measured: null, formula: null, measuredOverFormula: null, overUlysses: null, spOverUlysses: null },
    ],
    longest: [{ mode: 'ring', P: 2, N: null, bytes: null, unavailable: 'config key sequence_parallel.mode = "ring" is not supported yet' }],
  };
  const text = formatTables(report);
  assert.match(text[1] ?? '', /^ulysses +2 +64 +12\.5 +5120 +3\.000 +1\.000 +3\.000 +1\.0000 +25\.0 +4\.0 +200 +1\.00 +1\.00$/);
  assert.equal(text[2], 'ring     2  64  not available: config key sequence_parallel.mode = "ring" is not supported yet');
  assert.equal(text[text.length - 1], 'ring  2  not available: config key sequence_parallel.mode = "ring" is not supported yet');
  const md = markdownTables(report);
  assert.equal(md[3], '| ring | 2 | 64 | not available: config key sequence_parallel.mode = "ring" is not supported yet |  |  |  |  |  |  |  |  |  |  |');
});

test("a failed cell reports the child's error message, not its stack", () => {
  const stderr = 'node:internal/modules/run_main:123\n    triggerUncaughtException(\n    ^\n\nError [TypeError]: members is not iterable\n    at Mailbox.ringOthers (file:///x.js:1:1)\n\nNode.js v20.20.2\n';
  assert.equal(errorLine(stderr, 1), 'Error [TypeError]: members is not iterable');
  assert.equal(errorLine('', 7), 'exit code 7');
});
