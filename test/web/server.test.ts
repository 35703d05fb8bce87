// The dashboard server: what it lists and serves, what it refuses (paths outside the runs directory,
// malformed requests), metrics files cut mid-line, and the live event stream of a growing file.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MetricsTail } from '../../src/web/metrics-file.js';
import { startDashboard, type DashboardServer } from '../../src/web/server.js';
import { fetchText, makeRun, metricsLine, rawRequest, SseClient, waitFor } from './web-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ulysses-dash-'));
const runs = join(root, 'runs');
const outside = join(root, 'outside');
let server: DashboardServer;

before(async () => {
  // "a": three complete lines, one corrupt line, and a last line cut off mid-write.
  makeRun(runs, 'a', metricsLine(1) + metricsLine(2) + 'not json\n' + metricsLine(3) + '{"step":4,"lo');
  makeRun(runs, 'sweep/lr-1e-3', metricsLine(1));
  mkdirSync(outside);
  makeRun(outside, 'secret', metricsLine(1));
  writeFileSync(join(outside, 'secret.txt'), 'do not serve');
  symlinkSync(join(outside, 'secret'), join(runs, 'escape'));
  mkdirSync(join(runs, 'linked-file'));
  symlinkSync(join(outside, 'secret', 'metrics.jsonl'), join(runs, 'linked-file', 'metrics.jsonl'));
  server = await startDashboard({ runsDir: runs, port: 0, stream: { pollMs: 50 } });
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

test('lists runs (nested too, symlinks not followed) and serves the page and uPlot', async () => {
  const list = await fetchText(server.url, '/api/runs');
  assert.equal(list.status, 200);
  const names = (JSON.parse(list.body) as { runs: { name: string }[] }).runs.map((r) => r.name).sort();
  assert.deepEqual(names, ['a', 'linked-file', 'sweep/lr-1e-3']);
  const page = await fetchText(server.url, '/');
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'] ?? '', /text\/html/);
  assert.match(page.body, /<script src="\/assets\/uPlot\.iife\.min\.js"><\/script>/);
  const uplot = await fetchText(server.url, '/assets/uPlot.iife.min.js');
  assert.equal(uplot.status, 200);
  assert.match(uplot.body, /uPlot/);
  const config = await fetchText(server.url, '/api/config?run=sweep%2Flr-1e-3');
  assert.equal((JSON.parse(config.body) as { config: { train: { run_name: string } } }).config.train.run_name, 'sweep/lr-1e-3');
});

test('a metrics file cut mid-line gives its complete lines; corrupt lines are counted, not fatal', async () => {
  const r = await fetchText(server.url, '/api/metrics?run=a');
  assert.equal(r.status, 200);
  const body = JSON.parse(r.body) as { records: { step: number }[]; bad_lines: number };
  assert.deepEqual(body.records.map((x) => x.step), [1, 2, 3]);
  assert.equal(body.bad_lines, 1);
});

test('paths outside the runs directory are refused: "..", absolute, symlinked folders and files', async () => {
  const cases: [string, number, RegExp][] = [
    ['/api/metrics?run=..', 400, /"\.\." segment/],
    ['/api/metrics?run=../outside/secret', 400, /"\.\." segment/],
    ['/api/metrics?run=a%2F..%2F..%2Foutside%2Fsecret', 400, /"\.\." segment/],
    [`/api/metrics?run=${encodeURIComponent(join(outside, 'secret'))}`, 400, /absolute/],
    ['/api/config?run=escape', 400, /outside the runs directory/],
    ['/api/metrics?run=linked-file', 400, /metrics\.jsonl of this run resolves outside/],
    ['/api/events?run=escape', 400, /outside the runs directory/],
    ['/api/metrics?run=a%5C..%5Csecret', 400, /backslash/],
    ['/api/metrics?run=a%00', 400, /control characters/],
  ];
  for (const [path, status, message] of cases) {
    const r = await fetchText(server.url, path);
    assert.equal(r.status, status, `${path}: ${r.body}`);
    assert.match((JSON.parse(r.body) as { error: string }).error, message, path);
    assert.doesNotMatch(r.body, /do not serve|"step"/, `${path} leaked data`);
  }
  // Raw targets the client would normally normalise: they never reach a file outside either.
  for (const target of ['/assets/../../../outside/secret.txt', '/assets/..%2f..%2f..%2foutside%2fsecret.txt', '/../outside/secret.txt']) {
    const reply = await rawRequest(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 404/, target);
    assert.doesNotMatch(reply, /do not serve/);
  }
});

test('malformed requests get 400/404/405 with a message', async () => {
  const cases: [string, string, number, RegExp][] = [
    ['GET', '/api/metrics', 400, /missing query parameter "run"/],
    ['GET', '/api/metrics?run=', 400, /missing query parameter "run"/],
    ['GET', '/api/metrics?run=a&run=b', 400, /more than once/],
    ['GET', '/api/metrics?run=nope', 404, /no run named "nope"/],
    ['GET', '/api/metrics?run=sweep', 404, /not a run folder/],
    ['GET', '/api/nothing', 404, /no such page or endpoint/],
    ['GET', '/assets/secret.js', 404, /no asset/],
    ['POST', '/api/runs', 405, /only reads/],
    ['DELETE', '/api/metrics?run=a', 405, /only reads/],
  ];
  for (const [method, path, status, message] of cases) {
    const r = await fetchText(server.url, path, method);
    assert.equal(r.status, status, `${method} ${path}: ${r.body}`);
    assert.match((JSON.parse(r.body) as { error: string }).error, message);
  }
  const garbage = await rawRequest(server.port, 'THIS IS NOT HTTP\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 Bad Request[\s\S]*malformed HTTP request/);
  const absolute = await rawRequest(server.port, 'GET http://elsewhere.example/api/runs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(absolute, /^HTTP\/1\.1 400[\s\S]*malformed request target/);
});

test('the event stream sends what is written, line by line, only once complete, and restarts after a rewrite', async () => {
  const dir = makeRun(runs, 'growing', metricsLine(1) + metricsLine(2));
  const file = join(dir, 'metrics.jsonl');
  const sse = new SseClient(`${server.url}api/events?run=growing`);
  try {
    await waitFor(() => sse.steps().length === 2, 'the first two records');
    assert.equal(sse.status, 200);
    const half = metricsLine(3);
    appendFileSync(file, half.slice(0, 20));
    // The half line must not arrive; the next complete one proves the stream moved past it.
    appendFileSync(file, half.slice(20) + metricsLine(4));
    await waitFor(() => sse.steps().length === 4, 'records 3 and 4');
    assert.deepEqual(sse.steps(), [1, 2, 3, 4]);
    // A resumed run truncates metrics.jsonl to its checkpoint and writes on from there.
    writeFileSync(file, metricsLine(1));
    await waitFor(() => sse.steps().includes(-1), 'the reset event');
    appendFileSync(file, metricsLine(2));
    await waitFor(() => sse.steps().length === 7, 'records after the reset');
    assert.deepEqual(sse.steps(), [1, 2, 3, 4, -1, 1, 2]);
  } finally {
    sse.close();
  }
});

test('MetricsTail holds back a half-written line until its newline arrives', () => {
  const file = join(makeRun(runs, 'tail', ''), 'metrics.jsonl');
  const tail = new MetricsTail(file);
  assert.deepEqual(tail.read().records, []);
  const line = metricsLine(1);
  appendFileSync(file, line.slice(0, 25));
  assert.deepEqual(tail.read(), { records: [], reset: false, bad: 0 });
  appendFileSync(file, line.slice(25, -1));
  assert.deepEqual(tail.read().records, []);
  appendFileSync(file, '\n' + metricsLine(2).slice(0, 5));
  assert.deepEqual(tail.read().records.map((r) => r.step), [1]);
  appendFileSync(file, metricsLine(2).slice(5));
  assert.deepEqual(tail.read().records.map((r) => r.step), [2]);
  writeFileSync(file, '');
  assert.deepEqual(tail.read(), { records: [], reset: true, bad: 0 });
  assert.deepEqual(new MetricsTail(join(runs, 'tail', 'absent.jsonl')).read(), { records: [], reset: false, bad: 0 });
});
