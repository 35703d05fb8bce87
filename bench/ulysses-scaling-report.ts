// The write-up of a Ulysses scaling run: the markdown section appended to BENCHMARKS.md and its
// charts (communication per layer against P, memory per rank against P, SP = 1 and SP = 4 losses).
import { ulyssesEqualSplitElements } from '../src/parallel/ulysses/volume.js';
import type { StepResult, VolumeResult } from './ulysses-scaling-rank.js';
import { lineChartSvg } from '../src/web/svg-chart.js';
import { fmt, fmtBytes, fmtN, machineInfo, median, mdTable, MiB } from './util.js';

export interface VolumeRun {
  readonly N: number;
  readonly P: number;
  readonly H: number;
  readonly D: number;
  readonly ranks: readonly VolumeResult[];
}

export interface StepRun {
  readonly N: number;
  readonly P: number;
  readonly round: number;
  readonly ranks: readonly StepResult[];
  readonly baselineRssBytes: number;
  readonly peakRssBytes: number;
}

export interface LossRun {
  readonly sp: number;
  readonly wallS: number;
  readonly command: string;
  readonly steps: readonly number[];
  readonly loss: readonly number[];
  readonly valLoss: readonly (readonly [number, number])[];
  readonly tokensPerS: readonly number[];
}

export interface ScalingSummary {
  readonly date: string;
  readonly quick: boolean;
  readonly threads: number;
  readonly loadStart: number;
  readonly loadEnd: number;
  readonly wallS: number;
  readonly volume: readonly VolumeRun[];
  readonly steps: readonly StepRun[];
  readonly loss: readonly LossRun[];
}

const mib = (b: number): string => fmt(b / MiB, 2);
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-');

function volumeTable(s: ScalingSummary): { table: string; exact: boolean } {
  let exact = true;
  const rows = s.volume.map((v) => {
    const r0 = v.ranks[0];
    const h = v.H * v.D;
    const sent = (r: VolumeResult): number => r.fwdSent + r.bwdSent;
    const recv = (r: VolumeResult): number => r.fwdReceived + r.bwdReceived;
    const same = v.ranks.every((r) => sent(r) === sent(v.ranks[0] as VolumeResult) && recv(r) === recv(v.ranks[0] as VolumeResult));
    const match = v.ranks.every((r) => r.fwdSent === r.formula.fwdSent && r.bwdSent === r.formula.bwdSent &&
      r.fwdReceived === r.formula.fwdReceived && r.bwdReceived === r.formula.bwdReceived);
    const equal = 2 * 4 * ulyssesEqualSplitElements(1, v.N, v.P, v.H, v.H, v.D);
    exact &&= same && match && (r0 ? sent(r0) === equal : false);
    const paper = 2 * 4 * 4 * v.N * h / v.P; // 4·N·h/P elements each way, forward and backward, fp32
    const megatron = 2 * 4 * 4 * v.N * h; // DESIGN.md: 4·N·h per layer for Megatron-LM sequence parallelism
    const commMs = Math.max(...v.ranks.map((r) => r.commMs));
    const totalMs = Math.max(...v.ranks.map((r) => r.totalMs));
    return [
      fmtN(v.N), String(v.P), fmtN(v.N / v.P),
      r0 ? mib(r0.fwdSent) : '-', r0 ? mib(r0.bwdSent) : '-', r0 ? mib(recv(r0)) : '-', r0 ? mib(sent(r0)) : '-',
      mib(r0?.formula ? r0.formula.fwdSent + r0.formula.bwdSent : Number.NaN), match && same ? 'yes, every rank' : '**no**',
      mib(paper), r0 ? fmt(sent(r0) / paper, 3) : '-', mib(megatron),
      `${fmt(commMs, 0)} / ${fmt(totalMs, 0)}`,
    ];
  });
  const header = [
    'N', 'P', 'N/P', 'sent fwd', 'sent bwd', 'received fwd+bwd', '**sent fwd+bwd**', 'volume.ts formula (sent)', 'measured = formula',
    '2·4·N·h/P (paper)', 'measured / paper = (P−1)/P', 'Megatron-SP 2·4·N·h (formula)', 'comm ms / attention fwd+bwd ms',
  ];
  return { table: mdTable(header, rows), exact };
}

interface StepAgg {
  P: number;
  tokens: number;
  stepS: number;
  stepMin: number;
  stepMax: number;
  fwdS: number;
  bwdS: number;
  syncOptS: number;
  commS: number;
  a2aS: number;
  a2aBytes: number;
  act: number;
  attn: number;
  states: number;
  peakRss: number;
  losses: number[];
  samples: number;
}

function aggregate(s: ScalingSummary): StepAgg[] {
  const Ps = [...new Set(s.steps.map((r) => r.P))].sort((a, b) => a - b);
  return Ps.map((P) => {
    const runs = s.steps.filter((r) => r.P === P);
    // Per timed step: the slowest rank's time (collectives tie the ranks), or the ranks' mean for comm time.
    const perStep = (get: (r: StepResult) => number[], how: 'max' | 'mean'): number[] => runs.flatMap((run) => {
      const first = run.ranks[0];
      return first ? get(first).map((_, i) => {
        const xs = run.ranks.map((r) => get(r)[i] ?? Number.NaN);
        return how === 'max' ? Math.max(...xs) : xs.reduce((a, b) => a + b, 0) / xs.length;
      }) : [];
    });
    const r0 = runs[0]?.ranks[0];
    const steps = perStep((r) => r.stepS, 'max');
    return {
      P, tokens: r0?.tokens ?? 0, stepMin: Math.min(...steps), stepMax: Math.max(...steps),
      stepS: median(steps), fwdS: median(perStep((r) => r.fwdS, 'max')),
      bwdS: median(perStep((r) => r.bwdS, 'max')), syncOptS: median(perStep((r) => r.syncOptS, 'max')),
      commS: median(perStep((r) => r.commS, 'mean')), a2aS: median(perStep((r) => r.a2aS, 'mean')), samples: perStep((r) => r.stepS, 'max').length,
      a2aBytes: r0?.a2aBytesPerStep ?? 0, act: r0?.modelActivationBytes ?? 0, attn: r0?.attentionSavedBytes ?? 0,
      states: r0?.modelStateBytes ?? 0, peakRss: median(runs.map((r) => r.peakRssBytes)), losses: r0?.losses ?? [],
    };
  });
}

function stepsTable(aggs: StepAgg[], threads: number): string {
  const base = aggs.find((a) => a.P === 1);
  const header = [
    'P', 'tokens per rank', 'threads per rank', 'step s (min–max)', 'fwd / bwd / all-reduce+AdamW s', 'comm s (of step)', 'of which all-to-all s (of step)', 'step vs P=1',
    'all-to-all sent per step and rank', 'activations per rank (model + attention core)', 'params+grads+AdamW per rank',
    'process peak RSS', 'peak RSS / P',
  ];
  const rows = aggs.map((a) => [
    String(a.P), String(a.tokens), String(Math.max(1, Math.floor(threads / a.P))), `${fmt(a.stepS, 2)} (${fmt(a.stepMin, 2)}–${fmt(a.stepMax, 2)})`,
    `${fmt(a.fwdS, 2)} / ${fmt(a.bwdS, 2)} / ${fmt(a.syncOptS, 3)}`, `${fmt(a.commS, 3)} (${pct(a.commS / a.stepS)})`,
    `${fmt(a.a2aS, 3)} (${pct(a.a2aS / a.stepS)})`,
    base ? `${fmt(a.stepS / base.stepS, 3)}x` : '-', fmtBytes(a.a2aBytes),
    `${fmtBytes(a.act + a.attn)} (${fmtBytes(a.act)} + ${fmtBytes(a.attn)})`, fmtBytes(a.states),
    fmtBytes(a.peakRss), fmtBytes(a.peakRss / a.P),
  ]);
  return mdTable(header, rows);
}

interface LossFacts {
  maxAbs: number;
  at: number;
  maxRel: number;
  steps: number;
  /** First step whose |difference| exceeds 1e-6, 1e-4 and 1e-2 (0 = never). */
  firstOver: [number, number, number];
}

function lossFacts(s: ScalingSummary, sp: number): LossFacts {
  const a = s.loss.find((l) => l.sp === 1);
  const b = s.loss.find((l) => l.sp === sp);
  const firstOver: [number, number, number] = [0, 0, 0];
  let maxAbs = 0;
  let at = 0;
  let maxRel = 0;
  const n = Math.min(a?.loss.length ?? 0, b?.loss.length ?? 0);
  for (let i = 0; i < n; i++) {
    const x = a?.loss[i] ?? Number.NaN;
    const d = Math.abs(x - (b?.loss[i] ?? Number.NaN));
    if (!(d <= maxAbs)) [maxAbs, at] = [d, a?.steps[i] ?? i + 1];
    [1e-6, 1e-4, 1e-2].forEach((t, j) => {
      if (firstOver[j] === 0 && d > t) firstOver[j] = a?.steps[i] ?? i + 1;
    });
    maxRel = Math.max(maxRel, d / Math.abs(x));
  }
  return { maxAbs, at, maxRel, steps: n, firstOver };
}

function charts(s: ScalingSummary, aggs: StepAgg[]): Map<string, string> {
  const out = new Map<string, string>();
  if (s.volume.length) {
    const pts = (f: (v: VolumeRun) => number): [number, number][] => s.volume.map((v) => [v.P, f(v) / MiB]);
    const sent = (v: VolumeRun): number => (v.ranks[0]?.fwdSent ?? 0) + (v.ranks[0]?.bwdSent ?? 0);
    out.set('ulysses-comm-per-layer', lineChartSvg({
      title: 'Bytes sent per rank per attention layer (fwd+bwd), N/P fixed', xLabel: 'P (N = P × N/P)', yLabel: 'MiB (log scale)',
      xScale: 'log2', yScale: 'log10', xFormat: (x) => `P=${x}, N=${fmtN(((s.volume[0]?.N ?? 0) / (s.volume[0]?.P ?? 1)) * x)}`,
      series: [
        { name: 'measured (accounting)', points: pts(sent).filter(([, y]) => y > 0) },
        { name: 'paper 2·4·N·h/P', dash: '5 4', points: pts((v) => (2 * 4 * 4 * v.N * v.H * v.D) / v.P) },
        { name: 'Megatron-SP 2·4·N·h', dash: '2 3', points: pts((v) => 2 * 4 * 4 * v.N * v.H * v.D) },
      ],
    }));
  }
  if (aggs.length) {
    out.set('ulysses-memory-per-rank', lineChartSvg({
      title: `Memory per rank at N = ${fmtN(s.steps[0]?.N ?? 0)}, reference GPT`, xLabel: 'P', yLabel: 'MiB', xScale: 'log2', yMin: 0,
      xFormat: (x) => `P=${x}`,
      series: [
        { name: 'activations (tracked)', points: aggs.map((a) => [a.P, (a.act + a.attn) / MiB]) },
        { name: 'ideal: P=1 value / P', dash: '5 4', points: aggs.map((a) => [a.P, ((aggs[0]?.act ?? 0) + (aggs[0]?.attn ?? 0)) / a.P / MiB]) },
        { name: 'process peak RSS / P', points: aggs.map((a) => [a.P, a.peakRss / a.P / MiB]) },
      ],
    }));
  }
  const [a, b, c] = [s.loss.find((l) => l.sp === 1), s.loss.find((l) => l.sp === 4), s.loss.find((l) => l.sp === 2)];
  if (a && b) {
    const curve = (l: LossRun): [number, number][] => l.steps.map((st, i) => [st, l.loss[i] ?? Number.NaN]);
    out.set('sp1-vs-sp4-loss', lineChartSvg({
      title: `Training loss on the Brown corpus: SP = 1 and SP = ${b.sp}`, xLabel: 'step', yLabel: 'loss (nats per byte)',
      series: [
        { name: 'SP = 1', color: '#1f77b4', width: 4, points: curve(a), markers: false },
        { name: `SP = ${b.sp}`, color: '#ff7f0e', width: 1.5, dash: '6 4', points: curve(b), markers: false },
        { name: 'SP = 1 val', color: '#1f77b4', points: a.valLoss.map(([st, v]) => [st, v]), markers: true, width: 0 },
        { name: `SP = ${b.sp} val`, color: '#ff7f0e', points: b.valLoss.map(([st, v]) => [st, v]), markers: true, width: 0 },
      ],
    }));
    out.set('sp1-vs-sp4-loss-diff', lineChartSvg({
      title: 'Loss difference to SP = 1 per step', xLabel: 'step', yLabel: 'absolute difference (log scale)', yScale: 'log10',
      series: [b, ...(c ? [c] : [])].map((x) => ({
        name: `|SP=1 − SP=${x.sp}|`, markers: false, width: x.sp === 4 ? 2 : 1, dash: x.sp === 4 ? undefined : '4 3',
        points: a.steps.map((st, i): [number, number] => [st, Math.abs((a.loss[i] ?? 0) - (x.loss[i] ?? 0))]),
      })),
    }));
  }
  return out;
}

export function scalingReport(s: ScalingSummary): { markdown: string; charts: Map<string, string> } {
  const m = machineInfo('');
  const aggs = aggregate(s);
  const vol = volumeTable(s);
  const lf = lossFacts(s, 4);
  const lf2 = lossFacts(s, 2);
  const suffix = s.quick ? '-quick' : '';
  const link = (name: string): string => `docs/bench/${name}${suffix}.svg`;
  const base = aggs.find((a) => a.P === 1);
  const lossSpread = (a: StepAgg): number => Math.max(...a.losses.map((x, i) => Math.abs(x - (base?.losses[i] ?? Number.NaN))));
  const lines: string[] = [
    '## Ulysses: constant communication, memory per rank, exact loss curves',
    '',
    `Measured ${s.date.slice(0, 16).replace('T', ' ')} UTC with \`node dist/bench/ulysses-scaling.js${s.quick ? ' --quick' : ''}\` ` +
      `(${(s.wallS / 60).toFixed(1)} min). Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB.toFixed(1)} GiB RAM; Node ${m.node}; ` +
      `threads backend, ${s.threads} kernel/BLAS threads in all, split over the ranks. The machine was shared with other ` +
      `engineers' work (load average ${fmt(s.loadStart, 2)} at start, ${fmt(s.loadEnd, 2)} at end): times are noisy, bytes are exact.`,
    '',
  ];
  if (s.volume.length) {
    lines.push(
      '### Communication per rank and attention layer, N and P growing together',
      '',
      'One `DistributedAttention` forward + backward (causal, fp32, B = 1) of the reference model\'s attention shape ' +
        '(H = 8 heads of D = 32, h = 256) on the threads backend; bytes are what `comm.snapshot()` recorded on each rank ' +
        '(to and from other ranks; a rank\'s own block counts zero), in MiB. "volume.ts formula" is ' +
        '`ulyssesAttentionBytes` for the same plan; the paper\'s 4·N·h/P per direction counts the block a rank keeps, so ' +
        'the measured volume is that times (P−1)/P. Megatron-SP is the formula of DESIGN.md only, not measured.',
      '',
      vol.table,
      '',
      `![bytes per rank per layer](${link('ulysses-comm-per-layer')})`,
      '',
    );
  }
  if (aggs.length) {
    lines.push(
      `### Step time and memory per rank against P (N = ${fmtN(s.steps[0]?.N ?? 0)})`,
      '',
      'Reference GPT (d_model 256, 4 layers, 8 heads, vocab 256, MLP 4x, batch 1), one sequence of N tokens sharded over ' +
        'P ranks (worker threads); a step is zero grads, forward, backward, gradient all-reduce over the P ranks, AdamW ' +
        '(the trainer\'s path without clipping and data loading). Each P runs in its own process, ' +
        `${Math.max(...s.steps.map((r) => r.round)) + 1} round(s) interleaved; ${(s.steps[0]?.ranks[0]?.losses.length ?? 0) - (s.steps[0]?.ranks[0]?.stepS.length ?? 0)} warm-up step(s), then the median of ` +
        `${aggs[0]?.samples ?? 0} timed steps (per step the slowest rank). "comm" is the ranks' mean time inside ` +
        'communicator calls. **Memory per rank is tracked bytes**: the model\'s activation and scratch buffers ' +
        '(`model.activationBytes()`) plus what the attention core keeps for backward (for DistributedAttention the ' +
        'head-sharded q, k, v, out of the whole sequence and the row log-sum-exp; for LocalAttention the log-sum-exp), ' +
        'computed from shapes. Process peak RSS / P is given as a cross-check; it also holds P replicas of the model ' +
        'states (no ZeRO here) and one Node isolate per rank.',
      '',
      stepsTable(aggs, s.threads),
      '',
      `The P runs train the same sequence from the same initialisation; max |loss(P) − loss(P=1)| over their ` +
        `${base?.losses.length ?? 0} steps: ${aggs.filter((a) => a.P !== 1).map((a) => `${lossSpread(a).toExponential(2)} at P=${a.P}`).join(', ')}.`,
      '',
      `![memory per rank](${link('ulysses-memory-per-rank')})`,
      '',
    );
  }
  if (s.loss.length) {
    const [a, b, c] = [s.loss.find((l) => l.sp === 1), s.loss.find((l) => l.sp === 4), s.loss.find((l) => l.sp === 2)];
    const over = (f: LossFacts): string => f.firstOver.map((st, j) => `${['1e-6', '1e-4', '1e-2'][j]} ${st ? `at step ${st}` : 'never'}`).join(', ');
    lines.push(
      `### Loss curves: SP = 1 and SP = ${b?.sp ?? '-'} on the Brown corpus`,
      '',
      'The default config (byte-level Llama, d_model 128, 4 layers, 4 heads, batch 2, seq_len 1024) with fewer steps, ' +
        'trained twice from the same seed with the CLI:',
      '',
      '```',
      ...s.loss.map((l) => l.command),
      '```',
      '',
      `![SP=1 and SP=${b?.sp ?? '-'} loss curves](docs/bench/sp1-vs-sp4-loss${suffix}.svg)`,
      '',
      `**Max |loss difference| over ${lf.steps} steps: ${lf.maxAbs.toExponential(2)}** (step ${lf.at}; largest relative ` +
        `difference ${lf.maxRel.toExponential(2)}). Final loss ${fmt(a?.loss[a.loss.length - 1], 5)} (SP = 1) and ` +
        `${fmt(b?.loss[b.loss.length - 1], 5)} (SP = ${b?.sp ?? '-'}); validation ${a?.valLoss.map(([st, v]) => `${st}: ${fmt(v, 4)}`).join(', ') ?? '-'} ` +
        `and ${b?.valLoss.map(([st, v]) => `${st}: ${fmt(v, 4)}`).join(', ') ?? '-'}. Median tokens/s ` +
        `${fmt(median(a?.tokensPerS ?? []), 0)} and ${fmt(median(b?.tokensPerS ?? []), 0)}; wall ${fmt(a?.wallS, 0)} s and ${fmt(b?.wallS, 0)} s. ` +
        `Difference per step: [chart](${link('sp1-vs-sp4-loss-diff')}); it first exceeds ${over(lf)}.`,
      '',
      ...(c ? [
        `Control, \`--sp 2\` against SP = 1: max |loss difference| ${lf2.maxAbs.toExponential(2)} (step ${lf2.at}); first exceeds ${over(lf2)}.`,
        '',
      ] : []),
      `![loss difference to SP = 1](${link('sp1-vs-sp4-loss-diff')})`,
      '',
    );
  }
  lines.push(`Raw data: [docs/bench/ulysses-scaling${suffix}.json](docs/bench/ulysses-scaling${suffix}.json).`, '');
  if (s.volume.length) lines.push(`Accounting equals volume.ts and the equal-split formula on every rank: ${vol.exact ? 'yes' : '**no**'}.`, '');
  return { markdown: lines.join('\n'), charts: charts(s, aggs) };
}
