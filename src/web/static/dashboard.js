// The live dashboard page: lists runs, and for the selected one loads its config and follows its
// metrics over server-sent events (all lines so far, then each new one). Uses charts.js.
'use strict';

/** @typedef {{ name: string, mtimeMs: number, hasCheckpoint: boolean }} RunEntry */

const state = {
  /** @type {string | null} */ run: new URLSearchParams(location.search).get('run'),
  /** @type {EventSource | null} */ source: null,
  /** @type {unknown} */ config: null,
  lastRecordAt: 0,
  connected: false,
};

const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const view = createRunView(byId('view'));

/** @param {string} path */
async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  const body = await res.json();
  if (!res.ok) throw new Error(body && body.error ? body.error : `${res.status} ${res.statusText}`);
  return body;
}

/** @param {number} ms */
function ago(ms) {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 90) return `${s.toFixed(0)} s ago`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min ago`;
  if (s < 129600) return `${(s / 3600).toFixed(0)} h ago`;
  return new Date(ms).toLocaleDateString();
}

async function refreshRuns() {
  const list = byId('runs');
  try {
    /** @type {{ runs: RunEntry[] }} */
    const body = await getJson('/api/runs');
    if (body.runs.length === 0) {
      list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'no runs yet: start `ulysses train`' }));
      return;
    }
    list.replaceChildren(...body.runs.map((r) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = `?run=${encodeURIComponent(r.name)}`;
      a.dataset.run = r.name;
      a.className = r.name === state.run ? 'selected' : '';
      a.append(r.name, Object.assign(document.createElement('span'), { className: 'when', textContent: `written ${ago(r.mtimeMs)}` }));
      a.addEventListener('click', (e) => { e.preventDefault(); selectRun(r.name); });
      li.append(a);
      return li;
    }));
    const first = body.runs[0];
    if (state.run === null && first) selectRun(first.name);
  } catch (err) {
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: `cannot list runs: ${String(err)}` }));
  }
}

/** @param {string} label @param {string} value */
function tile(label, value) {
  const t = document.createElement('div');
  t.className = 'tile';
  t.append(Object.assign(document.createElement('div'), { className: 'label', textContent: label }),
    Object.assign(document.createElement('div'), { className: 'value', textContent: value }));
  return t;
}

/** @param {unknown} v @param {(x: number) => string} f */
const fmt = (v, f) => (typeof v === 'number' && Number.isFinite(v) ? f(v) : '–');

function plannedSteps() {
  const train = /** @type {{ train?: { steps?: unknown } } | null} */ (state.config)?.train;
  return typeof train?.steps === 'number' ? train.steps : null;
}

function renderTiles() {
  const recs = view.records();
  const last = recs[recs.length - 1];
  const lastVal = [...recs].reverse().find((r) => typeof r.val_loss === 'number');
  const planned = plannedSteps();
  const comm = last && typeof last.comm_ms === 'number' && typeof last.time_ms === 'number' && last.time_ms > 0 ? last.comm_ms / last.time_ms : null;
  byId('tiles').replaceChildren(
    tile('step', last ? `${last.step}${planned !== null ? ` / ${planned}` : ''}` : '–'),
    tile('loss', fmt(last?.loss, (x) => x.toFixed(4))),
    tile('val loss', fmt(lastVal?.val_loss, (x) => x.toFixed(4))),
    tile('tokens/s', fmt(last?.tokens_per_s, (x) => x.toFixed(0))),
    tile('MFU', fmt(last?.mfu, (x) => `${(100 * x).toFixed(1)}%`)),
    tile('step time', fmt(last?.time_ms, (x) => `${x.toFixed(0)} ms`)),
    tile('comm share', fmt(comm, (x) => `${(100 * x).toFixed(0)}%`)),
    tile('grad norm', fmt(last?.grad_norm, (x) => x.toFixed(3))),
  );
}

function renderStatus() {
  const s = byId('run-status');
  const recs = view.records();
  const last = recs[recs.length - 1];
  const planned = plannedSteps();
  if (state.run === null) { s.textContent = ''; s.className = 'status'; return; }
  if (last && planned !== null && last.step >= planned) { s.textContent = 'finished'; s.className = 'status finished'; }
  else if (state.connected && Date.now() - state.lastRecordAt < 30000) { s.textContent = 'live'; s.className = 'status live'; }
  else if (!state.connected) { s.textContent = 'reconnecting'; s.className = 'status'; }
  else { s.textContent = last ? `no new steps for ${ago(state.lastRecordAt).replace(' ago', '')}` : 'waiting for the first step'; s.className = 'status'; }
}

/** @param {string} name */
async function selectRun(name) {
  state.run = name;
  history.replaceState(null, '', `?run=${encodeURIComponent(name)}`);
  for (const a of document.querySelectorAll('#runs a')) a.classList.toggle('selected', /** @type {HTMLElement} */ (a).dataset.run === name);
  byId('run-title').textContent = name;
  document.title = `${name} – ulysses`;
  state.source?.close();
  view.reset();
  state.config = null;
  try {
    state.config = (await getJson(`/api/config?run=${encodeURIComponent(name)}`)).config;
  } catch (err) {
    byId('run-status').textContent = String(err);
  }
  renderConfig(byId('config'), state.config);
  view.setConfig(state.config);
  const source = new EventSource(`/api/events?run=${encodeURIComponent(name)}`);
  state.source = source;
  // Each (re)connection replays the file from the start, so the view starts over too.
  source.addEventListener('open', () => { state.connected = true; view.reset(); renderStatus(); });
  source.addEventListener('error', () => { state.connected = false; renderStatus(); });
  source.addEventListener('reset', () => view.reset());
  source.addEventListener('metrics', (e) => {
    view.addRecords(JSON.parse(/** @type {MessageEvent<string>} */ (e).data));
    state.lastRecordAt = Date.now();
    renderTiles();
    renderStatus();
  });
  renderTiles();
  renderStatus();
}

window.addEventListener('resize', () => view.resize());
setInterval(renderStatus, 2000);
setInterval(refreshRuns, 5000);
refreshRuns();
if (state.run !== null) selectRun(state.run);
