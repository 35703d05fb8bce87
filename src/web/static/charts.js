// The charts of one run, shared by the live dashboard and the static report: records (metrics.jsonl
// lines) go in, uPlot charts come out. Plain browser script, type-checked by ./tsconfig.json.
'use strict';

/** @typedef {{ step: number } & Record<string, unknown>} MetricsRecord */
/** @typedef {{ key: string, label: string, color: string, axis?: string, value: (r: MetricsRecord) => number | null, sparse?: boolean, dash?: number[] }} SeriesSpec */
/** @typedef {{ id: string, title: string, axes: { key: string, label: string }[], series: SeriesSpec[] }} ChartSpec */

/** Memory fields: mem_<category> in bytes, a number (rank 0) or an array indexed by rank; mem_peak is the process' peak RSS. */
const MEM_KEY = /^mem_(.+)$/;

/** @param {string} category */
const memLabel = (category) => (category === 'peak' ? 'peak RSS (process)' : category);

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];

/** @param {MetricsRecord} r @param {string} key @returns {number | null} */
function numField(r, key) {
  const v = r[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Collective names from per-collective metric keys, e.g. comm_a2a_bytes_sent -> a2a. @param {MetricsRecord[]} records @param {RegExp} re */
function keysMatching(records, re) {
  /** @type {Set<string>} */
  const found = new Set();
  for (const r of records) for (const k of Object.keys(r)) {
    const m = re.exec(k);
    if (m && m[1] !== undefined) found.add(m[1]);
  }
  return [...found].sort();
}

/** Peak memory of a category over ranks: the field is a number (one rank) or an array indexed by rank. @param {unknown} v */
function memMax(v) {
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) {
    const xs = v.filter((x) => typeof x === 'number');
    return xs.length > 0 ? Math.max(...xs) : null;
  }
  return null;
}

/** The ZeRO stage of a run config (0 when absent). @param {unknown} config */
function zeroStage(config) {
  const stage = /** @type {{ zero_optimization?: { stage?: unknown } } | null} */ (config)?.zero_optimization?.stage;
  return typeof stage === 'number' ? stage : 0;
}

/** The charts a set of records supports; per-collective series appear when the metrics carry them. @param {MetricsRecord[]} records @param {unknown} config @returns {ChartSpec[]} */
function chartSpecs(records, config) {
  const commTimes = keysMatching(records, /^comm_(.+)_ms$/);
  const commBytes = keysMatching(records, /^comm_(.+)_bytes_sent$/);
  const hasComm = records.some((r) => numField(r, 'comm_ms') !== null);
  const hasBytes = records.some((r) => numField(r, 'comm_bytes_sent') !== null);
  const mem = keysMatching(records, MEM_KEY);
  /** @type {ChartSpec[]} */
  const specs = [
    { id: 'loss', title: 'Loss (nats per token)', axes: [{ key: 'y', label: 'loss' }], series: [
      { key: 'loss', label: 'train', color: COLORS[0] ?? '', value: (r) => numField(r, 'loss') },
      { key: 'val_loss', label: 'validation', color: COLORS[1] ?? '', value: (r) => numField(r, 'val_loss'), sparse: true },
    ] },
    { id: 'lr', title: 'Learning rate', axes: [{ key: 'y', label: 'lr' }], series: [
      { key: 'lr', label: 'lr', color: COLORS[2] ?? '', value: (r) => numField(r, 'lr') },
    ] },
    { id: 'throughput', title: 'Throughput', axes: [{ key: 'tps', label: 'tokens/s' }, { key: 'mfu', label: 'MFU %' }], series: [
      { key: 'tokens_per_s', label: 'tokens/s', color: COLORS[0] ?? '', axis: 'tps', value: (r) => numField(r, 'tokens_per_s') },
      { key: 'mfu', label: 'MFU %', color: COLORS[3] ?? '', axis: 'mfu', dash: [6, 4], value: (r) => { const m = numField(r, 'mfu'); return m === null ? null : 100 * m; } },
    ] },
    { id: 'time', title: 'Step time: compute and communication', axes: [{ key: 'y', label: 'ms' }], series: [
      { key: 'time_ms', label: 'total', color: COLORS[8] ?? '', value: (r) => numField(r, 'time_ms') },
      ...(hasComm ? [
        { key: 'compute_ms', label: 'compute', color: COLORS[2] ?? '', value: (/** @type {MetricsRecord} */ r) => {
          const t = numField(r, 'time_ms'); const c = numField(r, 'comm_ms');
          return t === null || c === null ? null : t - c;
        } },
        { key: 'comm_ms', label: 'communication', color: COLORS[1] ?? '', value: (/** @type {MetricsRecord} */ r) => numField(r, 'comm_ms') },
      ] : []),
      ...commTimes.map((c, i) => ({ key: `comm_${c}_ms`, label: `comm ${c}`, color: COLORS[(i + 4) % COLORS.length] ?? '', value: (/** @type {MetricsRecord} */ r) => numField(r, `comm_${c}_ms`) })),
    ] },
  ];
  if (hasBytes) {
    specs.push({ id: 'bytes', title: 'Bytes sent per step, by collective', axes: [{ key: 'y', label: 'MB' }], series: [
      { key: 'comm_bytes_sent', label: 'all', color: COLORS[8] ?? '', value: (r) => { const b = numField(r, 'comm_bytes_sent'); return b === null ? null : b / 1e6; } },
      ...commBytes.map((c, i) => ({ key: `comm_${c}_bytes_sent`, label: c, color: COLORS[i % COLORS.length] ?? '', value: (/** @type {MetricsRecord} */ r) => {
        const b = numField(r, `comm_${c}_bytes_sent`); return b === null ? null : b / 1e6;
      } })),
      // What the per-collective fields do not cover: the gradient all-reduce, or ZeRO's gathers and reduce-scatters.
      { key: 'comm_rest', label: `${zeroStage(config) > 0 ? `zero-${zeroStage(config)}` : 'allreduce'} (all - listed)`, color: COLORS[4] ?? '', value: (r) => {
        const all = numField(r, 'comm_bytes_sent');
        if (all === null) return null;
        let rest = all;
        for (const c of commBytes) rest -= numField(r, `comm_${c}_bytes_sent`) ?? 0;
        return rest / 1e6;
      } },
    ] });
  }
  specs.push({ id: 'grad_norm', title: 'Gradient norm (before clipping)', axes: [{ key: 'y', label: 'L2 norm' }], series: [
    { key: 'grad_norm', label: 'grad norm', color: COLORS[4] ?? '', value: (r) => numField(r, 'grad_norm') },
  ] });
  if (mem.length > 0) {
    // The process' peak RSS is hundreds of MiB while a tiny model's states are KiB, so it gets its own axis.
    const rss = mem.includes('peak') && mem.length > 1;
    specs.push({ id: 'memory', title: 'Memory by category (largest rank)', axes: [{ key: 'y', label: 'MiB' }, ...(rss ? [{ key: 'rss', label: 'peak RSS MiB' }] : [])],
      series: mem.map((c, i) => ({
        key: `mem_${c}`, label: memLabel(c), color: COLORS[i % COLORS.length] ?? '', ...(rss && c === 'peak' ? { axis: 'rss' } : {}),
        value: (/** @type {MetricsRecord} */ r) => { const v = memMax(r[`mem_${c}`]); return v === null ? null : v / 2 ** 20; },
      })) });
  }
  return specs;
}

/** @param {string} tag @param {string} [cls] @param {string} [text] */
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** uPlot options for one chart spec. @param {ChartSpec} spec @param {number} width @returns {uPlot.Options} */
function chartOptions(spec, width) {
  return {
    width, height: 220,
    scales: { x: { time: false } },
    legend: { live: true },
    series: [
      { label: 'step' },
      ...spec.series.map((s) => ({
        label: s.label, stroke: s.color, width: 1.5, scale: s.axis ?? 'y', spanGaps: s.sparse === true, ...(s.dash ? { dash: s.dash } : {}),
        points: { show: s.sparse === true, size: 5 },
      })),
    ],
    axes: [
      { label: 'step' },
      ...spec.axes.map((a, i) => ({ scale: a.key, label: a.label, side: /** @type {uPlot.Axis.Side} */ (i === 0 ? 3 : 1), grid: { show: i === 0 }, size: 60 })),
    ],
  };
}

/** One run's charts inside `root`; records can arrive all at once or a few at a time. @param {HTMLElement} root */
function createRunView(root) {
  /** @type {MetricsRecord[]} */
  let records = [];
  /** @type {unknown} */
  let config = null;
  /** @type {Map<string, { plot: uPlot, signature: string, box: HTMLElement }>} */
  const charts = new Map();
  const grid = el('div', 'charts');
  const memNote = el('p', 'mem-note');
  const memTable = el('table', 'mem-table');
  root.replaceChildren(grid, memNote, memTable);

  /** The plot width that fills a chart box (reading clientWidth lays the box out first). @param {HTMLElement} box */
  const width = (box) => Math.max(260, (box.clientWidth || 480) - 16);

  function render() {
    const specs = chartSpecs(records, config);
    const ids = new Set(specs.map((s) => s.id));
    for (const [id, c] of charts) if (!ids.has(id)) { c.plot.destroy(); c.box.remove(); charts.delete(id); }
    for (const spec of specs) {
      /** @type {uPlot.AlignedData} */
      const data = [records.map((r) => r.step), ...spec.series.map((s) => records.map((r) => s.value(r)))];
      const signature = spec.series.map((s) => s.key).join(',');
      let c = charts.get(spec.id);
      if (c && c.signature !== signature) { c.plot.destroy(); c.box.remove(); charts.delete(spec.id); c = undefined; }
      if (!c) {
        const box = el('section', 'chart');
        box.dataset.chart = spec.id;
        box.append(el('h3', '', spec.title));
        grid.append(box);
        c = { plot: new uPlot(chartOptions(spec, width(box)), data, box), signature, box };
        charts.set(spec.id, c);
      } else {
        c.plot.setData(data);
      }
      c.box.dataset.points = String(records.length);
    }
    // Charts rebuilt for new series were appended last; appending all in spec order restores the layout.
    grid.append(...specs.map((s) => charts.get(s.id)?.box).filter((b) => b !== undefined));
    const nonEmptyVal = records.filter((r) => numField(r, 'val_loss') !== null).length;
    root.dataset.points = String(records.length);
    root.dataset.valPoints = String(nonEmptyVal);
    root.dataset.lastStep = String(records.length > 0 ? records[records.length - 1]?.step : 0);
    renderMemory();
  }

  /** The peak over steps of each memory category, per rank, as a table. */
  function renderMemory() {
    const cats = keysMatching(records, MEM_KEY);
    if (cats.length === 0) {
      memNote.textContent = 'Memory per rank: not recorded (this run\'s metrics carry no mem_<category> fields).';
      memTable.replaceChildren();
      return;
    }
    /** @type {number[][]} peak of each category (column) for each rank (index) */
    const cols = cats.map((c) => {
      /** @type {number[]} */
      const peak = [];
      for (const r of records) {
        const v = r[`mem_${c}`];
        const xs = Array.isArray(v) ? v : typeof v === 'number' ? [v] : [];
        xs.forEach((x, k) => { if (typeof x === 'number') peak[k] = Math.max(peak[k] ?? 0, x); });
      }
      return peak;
    });
    const ranks = Math.max(0, ...cols.map((c) => c.length));
    memNote.textContent = ranks > 1 ? 'Peak memory per rank over the run (MiB):' : 'Peak memory over the run (MiB; the metrics carry rank 0 only):';
    const head = el('tr');
    head.append(el('th', '', 'rank'), ...cats.map((c) => el('th', '', memLabel(c))));
    const rows = [head];
    for (let k = 0; k < ranks; k++) {
      const tr = el('tr');
      tr.append(el('td', '', String(k)), ...cols.map((col) => { const v = col[k]; return el('td', '', v === undefined ? '' : (v / 2 ** 20).toFixed(1)); }));
      rows.push(tr);
    }
    memTable.replaceChildren(...rows);
  }

  return {
    /** Adds records in step order; a step at or before the last one (a resumed run) replaces what followed. @param {MetricsRecord[]} recs */
    addRecords(recs) {
      for (const r of recs) {
        const lastStep = records.length > 0 ? records[records.length - 1]?.step ?? -Infinity : -Infinity;
        if (r.step <= lastStep) records = records.filter((x) => x.step < r.step);
        records.push(r);
      }
      render();
    },
    reset() { records = []; render(); },
    /** The run's config.json, which names series (e.g. the ZeRO stage's traffic). @param {unknown} c */
    setConfig(c) { config = c; render(); },
    records() { return records; },
    resize() { for (const c of charts.values()) c.plot.setSize({ width: width(c.box), height: 220 }); },
  };
}

/** Flattens a config object into key-path rows for display. @param {unknown} v @param {string} [prefix] @returns {[string, string][]} */
function flattenConfig(v, prefix = '') {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    return Object.entries(v).flatMap(([k, x]) => flattenConfig(x, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix || '(config)', JSON.stringify(v)]];
}

/** Fills a table with a run's configuration. @param {HTMLElement} table @param {unknown} config */
function renderConfig(table, config) {
  if (config === null || config === undefined) { table.replaceChildren(el('tr', '', 'no config.json in this run')); return; }
  table.replaceChildren(...flattenConfig(config).map(([k, v]) => {
    const tr = el('tr');
    tr.append(el('td', 'key', k), el('td', 'value', v));
    return tr;
  }));
}
