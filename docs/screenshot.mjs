// Regenerates docs/dashboard.png: trains a short real run, serves the dashboard, and photographs it
// in headless Chromium. Run from the repository root after `npm run build`:
//   node docs/screenshot.mjs            (needs /usr/bin/chromium: apt-get install chromium)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startDashboard } from '../dist/src/web/server.js';

const runs = mkdtempSync(join(tmpdir(), 'ulysses-shot-'));
const train = spawnSync(process.execPath, [
  'dist/src/cli/main.js', 'train', '--config', 'configs/smoke.json',
  '--set', `train.out_dir=${runs}`, '--set', 'train.run_name=llama-brown-sp2', '--set', 'model.type=llama',
  '--set', 'model.d_model=64', '--set', 'model.n_heads=4', '--set', 'model.n_layers=2', '--set', 'model.max_seq_len=256',
  '--set', 'data.seq_len=256', '--set', 'train.steps=300', '--set', 'data.val_every=25',
], { stdio: 'inherit' });
if (train.status !== 0) throw new Error('training failed');

const server = await startDashboard({ runsDir: runs, port: 0 });
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'ulysses-shot-profile-')), {
  executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await ctx.newPage();
  await page.goto(`${server.url}?run=llama-brown-sp2`);
  await page.waitForFunction("document.getElementById('run-status')?.textContent === 'finished'");
  // Everything down to the memory table; the long config table below is left out.
  const box = await page.locator('.mem-table').boundingBox();
  await page.screenshot({ path: 'docs/dashboard.png', fullPage: true, clip: { x: 0, y: 0, width: 1400, height: Math.ceil((box?.y ?? 1160) + (box?.height ?? 0) + 20) } });
  console.log('wrote docs/dashboard.png');
} finally {
  await ctx.close();
  await server.close();
  rmSync(runs, { recursive: true, force: true });
}
