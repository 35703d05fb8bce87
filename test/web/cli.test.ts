// The dashboard and report commands as the CLI runs them: files written where asked, a single run
// folder served from its parent, and user mistakes ending with a message and exit code 2.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Command } from 'commander';
import { addDashboardCommand } from '../../src/cli/dashboard-command.js';
import { addReportCommand } from '../../src/cli/report-command.js';
import { fetchText, makeRun, metricsLine, waitFor } from './web-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-web-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Runs one command line with console.log and stderr captured; a fresh program each time, since commander keeps option values. */
async function cli(add: (p: Command) => void, args: string[], whileRunning?: (out: () => string) => Promise<void>): Promise<{ out: string; err: string; code: number }> {
  const program = new Command().exitOverride();
  add(program);
  let out = '';
  let err = '';
  const log = console.log;
  const write = process.stderr.write;
  console.log = (...a: unknown[]) => void (out += `${a.join(' ')}\n`);
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const done = program.parseAsync(['node', 'ulysses', ...args]);
    if (whileRunning) await whileRunning(() => out);
    await done;
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

test('ulysses report writes <run>/report.html or --out, and refuses a folder without metrics', async () => {
  const dir = makeRun(root, 'done', metricsLine(1) + metricsLine(2), 2);
  const out = join(root, 'custom.html');
  assert.match((await cli(addReportCommand, ['report', dir, '--out', out])).out, /wrote .*custom\.html: 2 steps of done/);
  assert.match(readFileSync(out, 'utf8'), /^<!doctype html>/);
  await cli(addReportCommand, ['report', dir]);
  assert.ok(existsSync(join(dir, 'report.html')));
  const bad = await cli(addReportCommand, ['report', join(root, 'nothing-here')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /has no metrics\.jsonl/);
});

test('ulysses dashboard serves a run folder from its parent with the run selected, and stops on SIGINT', async () => {
  const runs = join(root, 'runs');
  const dir = makeRun(runs, 'one', metricsLine(1));
  makeRun(runs, 'two', metricsLine(1));
  const r = await cli(addDashboardCommand, ['dashboard', dir, '--port', '0'], async (out) => {
    await waitFor(() => /at http/.test(out()), 'the dashboard address');
    const url = /at (http:\/\/127\.0\.0\.1:\d+\/)\?run=one /.exec(out())?.[1];
    assert.ok(url, out());
    const list = JSON.parse((await fetchText(url, '/api/runs')).body) as { runs: { name: string }[] };
    assert.deepEqual(list.runs.map((x) => x.name).sort(), ['one', 'two']);
    process.emit('SIGINT');
  });
  assert.equal(r.code, 0);
  const missing = await cli(addDashboardCommand, ['dashboard', join(root, 'absent')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /does not exist/);
  const port = await cli(addDashboardCommand, ['dashboard', runs, '--port', 'http']);
  assert.match(port.err, /--port must be an integer/);
});
