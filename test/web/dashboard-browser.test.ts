// The dashboard in a real browser (headless Chromium through playwright-core) on a real training
// run: the run is paused (SIGSTOP) after its first steps so the page's first view is known exactly,
// then resumed; the same page, never reloaded, must then show every step (pushed over SSE).
// The report of the finished run must render offline in the same browser.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { renderReport, readRunForReport } from '../../src/web/report.js';
import { startDashboard, type DashboardServer } from '../../src/web/server.js';
import { waitFor } from './web-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
const STEPS = 100;
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'ulysses-browser-'));
after(() => rmSync(root, { recursive: true, force: true }));

function completeLines(path: string): number {
  if (!existsSync(path)) return 0;
  return readFileSync(path, 'utf8').split('\n').length - 1;
}

// Page-side code is passed as text: the test build has no DOM types, the browser runs it as is.
const LINE_PIXELS = `(() => {
  const canvas = document.querySelector('section[data-chart="loss"] canvas');
  const ctx = canvas && canvas.getContext('2d');
  if (!ctx) return 0;
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i] - 31) < 40 && Math.abs(px[i + 1] - 119) < 40 && Math.abs(px[i + 2] - 180) < 40) n++;
  return n;
})()`;

/** Pixels of the loss chart's canvas in the train series' colour: proof that uPlot drew the line. */
const trainLinePixels = (page: Page): Promise<number> => page.evaluate(LINE_PIXELS) as Promise<number>;

// Waits go through locators: waitForFunction evals its predicate inside the page, which the
// dashboard's Content-Security-Policy (no 'unsafe-eval') rightly refuses once polling starts.
/** Waits until the page's view holds exactly n records. */
const untilPoints = (page: Page, n: number): Promise<void> =>
  page.locator(`#view[data-points="${n}"]`).waitFor({ state: 'attached', timeout: 60000 });

const points = (page: Page, sel = '#view'): Promise<string | null> => page.locator(sel).first().getAttribute('data-points');

test('dashboard in Chromium: a real run\'s charts render, then grow live over SSE; its report renders offline', async (t) => {
  if (!existsSync(CHROMIUM)) return t.skip(`${CHROMIUM} is missing (apt-get install chromium)`);
  let pw: typeof import('playwright-core');
  try {
    pw = await import('playwright-core');
  } catch {
    return t.skip('playwright-core is not installed (npm ci)');
  }
  const runs = join(root, 'runs');
  const metrics = join(runs, 'live', 'metrics.jsonl');
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [
    join(repo, 'dist', 'src', 'cli', 'main.js'), 'train', '--config', join(repo, 'configs', 'smoke.json'),
    '--set', `train.out_dir=${runs}`, '--set', 'train.run_name=live', '--set', `train.steps=${STEPS}`,
    '--set', 'data.val_every=25',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  let server: DashboardServer | null = null;
  let ctx: BrowserContext | null = null;
  try {
    await waitFor(() => completeLines(metrics) >= 2 || child.exitCode !== null, 'the first training steps', 60000);
    child.kill('SIGSTOP');
    const first = completeLines(metrics);
    assert.ok(first >= 2 && first < STEPS, `paused after ${first} of ${STEPS} steps\n${output}`);

    server = await startDashboard({ runsDir: runs, port: 0 });
    ctx = await pw.chromium.launchPersistentContext(mkdtempSync(join(root, 'profile-')), {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1300, height: 1000 },
    });
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => (m.type() === 'error' ? problems.push(m.text()) : undefined));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('response', (r) => (r.status() >= 400 ? problems.push(`${r.status()} ${r.url()}`) : undefined));
    await page.goto(`${server.url}?run=live`);

    await untilPoints(page, first);
    const charts = await Promise.all((await page.locator('section.chart').all()).map((l) => l.getAttribute('data-chart')));
    // Memory is charted when the trainer records mem_* fields, and said to be missing otherwise.
    const hasMemory = /"mem_/.test(readFileSync(metrics, 'utf8'));
    assert.deepEqual(charts, ['loss', 'lr', 'throughput', 'time', 'bytes', 'grad_norm', ...(hasMemory ? ['memory'] : [])]);
    assert.ok((await page.locator('section.chart canvas').count()) >= 6, 'one uPlot canvas per chart');
    assert.equal(await points(page, 'section[data-chart="time"]'), String(first));
    assert.ok((await trainLinePixels(page)) > 20, 'the training loss line is drawn');
    assert.equal(await page.locator('#run-status').textContent(), 'live');
    assert.match((await page.locator('.mem-note').textContent()) ?? '', hasMemory ? /Peak memory/ : /not recorded/);
    const memRows = await page.locator('.mem-table tr').count();
    assert.ok(hasMemory ? memRows >= 2 : memRows === 0, `memory table rows: ${memRows}`);
    assert.match((await page.locator('#config').textContent()) ?? '', /train\.run_name"live"/);
    // The time chart splits compute from communication, and the bytes chart has a line per collective.
    const timeLegend = await page.locator('section[data-chart="time"] .u-legend .u-series').allTextContents();
    assert.ok(['step', 'compute', 'communication'].every((s) => timeLegend.some((l) => l.includes(s))), timeLegend.join('|'));
    const bytesLegend = await page.locator('section[data-chart="bytes"] .u-legend .u-series').allTextContents();
    assert.ok(bytesLegend.some((l) => l.includes('a2a')) && bytesLegend.some((l) => l.includes('allreduce')), bytesLegend.join('|'));

    child.kill('SIGCONT');
    assert.equal(await exited, 0, output);
    await untilPoints(page, STEPS);
    assert.equal(await points(page, 'section[data-chart="loss"]'), String(STEPS));
    assert.equal(await page.locator('#view').getAttribute('data-val-points'), String(STEPS / 25));
    await page.locator('#run-status', { hasText: /^finished$/ }).waitFor({ timeout: 60000 });
    assert.equal(requests.filter((u) => u.includes('/api/events?run=live')).length, 1, 'one event stream, no reload');
    assert.deepEqual(problems, []);

    // The report of the same run: opened from a file, it draws the same charts and requests nothing but itself.
    const reportPath = join(root, 'report.html');
    writeFileSync(reportPath, renderReport(readRunForReport(join(runs, 'live'))));
    const offline: string[] = [];
    page.on('request', (r) => offline.push(r.url()));
    await page.goto(`file://${reportPath}`);
    await untilPoints(page, STEPS);
    assert.ok((await page.locator('section.chart canvas').count()) >= 6);
    assert.ok((await trainLinePixels(page)) > 20);
    assert.deepEqual(offline.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), []);
    assert.deepEqual(problems, []);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await ctx?.close();
    await server?.close();
  }
});
