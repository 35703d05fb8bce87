// `ulysses report`: one HTML file with everything inlined (no external src or href), the run's
// records and config embedded, summary numbers computed from them, and text in the data that
// cannot break out of its script element.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readRunForReport, renderReport } from '../../src/web/report.js';
import { summarize } from '../../src/web/summary.js';
import { makeRun, metricsLine } from './web-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-report-'));
after(() => rmSync(root, { recursive: true, force: true }));

function runWithMemory(): string {
  let text = '';
  for (let s = 1; s <= 20; s++) text += metricsLine(s);
  // Memory fields by category, here one value per rank, and the process' peak RSS.
  text += `${JSON.stringify({ step: 21, loss: 4.4, lr: 1e-4, grad_norm: 1, tokens_per_s: 9000, mfu: 0.25, time_ms: 22, mem_activations: [2 ** 20, 3 * 2 ** 20], mem_params: [2 ** 21, 2 ** 21], mem_peak: 5e8 })}\n`;
  const dir = makeRun(root, 'finished', text, 21);
  // A hostile string in the config must stay data.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ train: { steps: 21, run_name: '</script><script>alert(1)</script>' }, model: { type: 'llama' } }));
  return dir;
}

test('the report is self-contained: no external src, href, url() or import', () => {
  const html = renderReport(readRunForReport(runWithMemory()));
  assert.doesNotMatch(html, /<script[^>]*\ssrc\s*=/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /<(img|iframe|object|embed|audio|video|source)\b/i);
  assert.doesNotMatch(html, /\shref\s*=\s*["']?[a-z/]/i);
  assert.doesNotMatch(html, /url\(\s*["']?(https?:|\/\/)/i);
  assert.doesNotMatch(html, /@import/i);
  // uPlot and the chart code are inlined, and the hostile config string did not open a script.
  assert.match(html, /uPlot/);
  assert.match(html, /function createRunView/);
  assert.equal((html.match(/<script/gi) ?? []).length, 4);
  assert.equal((html.match(/<\/script>/gi) ?? []).length, 4);
});

test('the report embeds every record and the config, and its summary is computed from them', () => {
  const input = readRunForReport(runWithMemory());
  const html = renderReport(input);
  const json = /<script type="application\/json" id="run-data">([^<]*)<\/script>/.exec(html)?.[1];
  assert.ok(json, 'the data element');
  const data = JSON.parse(json) as { records: { step: number }[]; config: { train: { run_name: string } } };
  assert.deepEqual(data.records.map((r) => r.step), Array.from({ length: 21 }, (_, i) => i + 1));
  assert.equal(data.config.train.run_name, '</script><script>alert(1)</script>');
  const s = summarize(input.records, input.config);
  assert.equal(s.steps, 21);
  assert.equal(s.plannedSteps, 21);
  assert.deepEqual(s.bestValLoss, { value: 5.4 - 0.05 * 20, step: 20 });
  assert.equal(s.finalLoss, 4.4);
  assert.equal(s.commFraction, (20 * 4) / (20 * 20));
  assert.match(html, /<th>best validation loss<\/th><td>4\.4000 \(step 20\)<\/td>/);
  assert.match(html, /<th>communication share of step time<\/th><td>20\.0%<\/td>/);
  assert.match(html, /<th>steps<\/th><td>21 of 21<\/td>/);
  assert.equal(s.peakMemoryBytes, 5e8);
  assert.match(html, /<th>peak memory \(process RSS\)<\/th><td>500\.0 MB<\/td>/);
});
