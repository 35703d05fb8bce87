// The write-up of a communication-bandwidth run: markdown tables (the section appended to
// BENCHMARKS.md) and one SVG chart per collective of rank bandwidth against payload size.
import { spawnSync } from 'node:child_process';
import type { BwOp } from './comm-bandwidth-rank.js';
import { lineChartSvg, type Series } from '../src/web/svg-chart.js';
import { fmt, machineInfo, mdTable, median, MiB } from './util.js';

export interface BwRow {
  /** threads+shared: the threads backend sending from allocShared buffers that peers read in place. */
  readonly backend: 'threads' | 'threads+shared' | 'mpi';
  readonly P: number;
  readonly op: BwOp;
  readonly bytes: number;
  /** Median collective time (first rank out of the barrier to last rank done), seconds. */
  readonly seconds: number;
  /** Median time of the copy floor (the same copies on every rank at once, no communication), seconds. */
  readonly floorSeconds: number;
  /** floorSeconds / seconds: 100% = the collective costs no more than the copies it needs. */
  readonly ofFloor: number;
  readonly reps: number;
  readonly sentBytes: number;
  readonly receivedBytes: number;
  /** (sent + received) / seconds, bytes/s. */
  readonly rankBw: number;
  /** payload / seconds, bytes/s. */
  readonly algBw: number;
  readonly ofMemcpy: number;
  /** ofMemcpy of each round on its own (median of that round's repetitions): the spread under load. */
  readonly ofMemcpyRounds?: readonly number[];
}

export interface BwSummary {
  readonly date: string;
  readonly quick: boolean;
  readonly rounds: number;
  readonly wallS: number;
  readonly loadStart: number;
  readonly loadEnd: number;
  readonly sizes: readonly number[];
  /** Single-thread TypedArray.set bytes/s per size. */
  readonly memcpyBw: readonly number[];
  readonly memcpyReps: readonly number[];
  readonly rows: readonly BwRow[];
  readonly failures: readonly { config: string; error: string }[];
  readonly allCorrect: boolean;
}

const GB = 1e9;
const mib = (b: number): string => `${b / MiB} MiB`;
const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : '-');

/** The (backend, P) pairs measured, in the order of the run. */
function configsOf(s: BwSummary): [string, number][] {
  const seen = new Map<string, [string, number]>();
  for (const r of s.rows) seen.set(`${r.backend} ${r.P}`, [r.backend, r.P]);
  return [...seen.values()];
}

function find(s: BwSummary, backend: string, P: number, op: BwOp, bytes: number): BwRow | undefined {
  return s.rows.find((r) => r.backend === backend && r.P === P && r.op === op && r.bytes === bytes);
}

function openMpiVersion(): string {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  return /\(Open MPI\) (\S+)/.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

function opTable(s: BwSummary, op: BwOp): string {
  const CONFIGS = configsOf(s);
  const header = ['payload S', 'memcpy GB/s', ...CONFIGS.map(([b, P]) => `${b} P=${P}: GB/s (of memcpy / of floor)`)];
  const rows = s.sizes.map((bytes, i) => [
    mib(bytes), fmt((s.memcpyBw[i] ?? Number.NaN) / GB, 2),
    ...CONFIGS.map(([b, P]) => {
      const r = find(s, b, P, op, bytes);
      return r ? `${fmt(r.rankBw / GB, 2)} (${pct(r.ofMemcpy)} / ${pct(r.ofFloor)})` : '-';
    }),
  ]);
  return mdTable(header, rows);
}

/** The rows of one config and collective with payloads of 16 MiB and more. */
function from16(s: BwSummary, backend: string, P: number, op: BwOp): BwRow[] {
  return s.rows.filter((r) => r.backend === backend && r.P === P && r.op === op && r.bytes >= 16 * MiB);
}

function chart(s: BwSummary, op: BwOp): string {
  const CONFIGS = configsOf(s);
  const colors: Record<string, string> = {
    'threads 2': '#1f77b4', 'threads 4': '#2ca02c', 'threads+shared 2': '#9467bd', 'threads+shared 4': '#8c564b',
    'mpi 2': '#d62728', 'mpi 4': '#ff7f0e',
  };
  const series: Series[] = [
    { name: 'memcpy (1 thread)', color: '#000', points: s.sizes.map((b, i) => [b / MiB, (s.memcpyBw[i] ?? Number.NaN) / GB]) },
    { name: '50% of memcpy', color: '#000', dash: '3 4', width: 1, markers: false, points: s.sizes.map((b, i) => [b / MiB, (s.memcpyBw[i] ?? Number.NaN) / (2 * GB)]) },
    ...CONFIGS.map(([b, P]): Series => ({
      name: `${b} P=${P}`, color: colors[`${b} ${P}`] ?? '#7f7f7f', dash: b === 'mpi' ? '6 3' : undefined,
      points: s.sizes.map((bytes) => [bytes / MiB, (find(s, b, P, op, bytes)?.rankBw ?? Number.NaN) / GB]),
    })),
    // The floor in rank-bandwidth terms: the same bytes over the time the copies alone took.
    ...([2, 4] as const).map((P): Series => ({
      name: `copy floor P=${P}`, color: colors[`threads ${P}`], dash: '1 3', width: 1.5, markers: false,
      points: s.sizes.map((bytes) => {
        const r = find(s, 'threads', P, op, bytes);
        return [bytes / MiB, r ? (r.sentBytes + r.receivedBytes) / r.floorSeconds / GB : Number.NaN];
      }),
    })),
  ];
  return lineChartSvg({
    title: `${op}: rank bandwidth (sent + received per second) against memcpy`,
    xLabel: 'payload per rank S (MiB, log scale)', yLabel: 'GB/s (1e9 bytes/s)', xScale: 'log2', yMin: 0, series,
  });
}

/** Share of memcpy per payload and configuration: the median, and the range over rounds. */
function shareTable(s: BwSummary): string {
  const cols = (['allToAll', 'allGather'] as const).flatMap((op) => configsOf(s).map(([b, P]) => [op, b, P] as const));
  const header = ['payload S', ...cols.map(([op, b, P]) => `${op} ${b} P=${P}`)];
  const rows = s.sizes.map((bytes) => [
    mib(bytes),
    ...cols.map(([op, b, P]) => {
      const r = find(s, b, P, op, bytes);
      if (!r) return '-';
      const rounds = r.ofMemcpyRounds ?? [];
      const range = rounds.length > 1 ? ` (${pct(Math.min(...rounds))}–${pct(Math.max(...rounds))})` : '';
      return `${pct(r.ofMemcpy)}${range}`;
    }),
  ]);
  return mdTable(header, rows);
}

export function bandwidthReport(s: BwSummary): { markdown: string; charts: Map<string, string> } {
  const m = machineInfo('');
  const charts = new Map<string, string>([['comm-bandwidth-alltoall', chart(s, 'allToAll')], ['comm-bandwidth-allgather', chart(s, 'allGather')]]);
  const suffix = s.quick ? '-quick' : '';
  const reading = (['allToAll', 'allGather'] as const).flatMap((op) => configsOf(s).map(([b, P]) => {
    const rows = from16(s, b, P, op);
    if (rows.length === 0) return `- ${op}, ${b} P=${P}: not measured`;
    const share = rows.map((r) => r.ofMemcpy);
    const verdict = b.startsWith('threads') ? (Math.min(...share) >= 0.5 ? ' **met**' : ' **not met**') : ' (no target)';
    // The floor's own share of memcpy is the best this definition allows when memory bandwidth is the limit.
    const ceiling = rows.map((r) => r.ofMemcpy / r.ofFloor);
    return `- ${op}, ${b} P=${P}: share of memcpy from 16 MiB up: median ${pct(median(share))}, lowest ${pct(Math.min(...share))}${verdict}; ` +
      `the copy floor alone: median ${pct(median(ceiling))} of memcpy; the collective: median ${pct(median(rows.map((r) => r.ofFloor)))} of its floor`;
  }));
  const md = [
    '## Communication bandwidth',
    '',
    `Measured ${s.date.slice(0, 16).replace('T', ' ')} UTC with \`node dist/bench/comm-bandwidth.js${s.quick ? ' --quick' : ''}\` ` +
      `(${(s.wallS / 60).toFixed(1)} min; built with \`npx tsc -p tsconfig.json\`).`,
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB.toFixed(1)} GiB RAM; Node ${m.node}; Open MPI ${openMpiVersion()}. ` +
      `Load average ${fmt(s.loadStart, 2)} at start, ${fmt(s.loadEnd, 2)} at end (2 cores: above 1 means other work ` +
      'shared them); every column comes from the same run, interleaved.',
    '',
    '**What is measured.** Payload S is the per-rank buffer as nccl-tests counts it: allToAll sends S and receives S ' +
      '(blocks of S/P per member), allGather receives S and sends S/P. Each repetition starts from a barrier; its time ' +
      'runs from the first rank leaving the barrier to the last rank returning from the call (on one clock), so ranks ' +
      'that wait for a core (P = 4 on 2 cores) are counted; the table gives the median over ' +
      `${s.rounds} interleaved round(s) of repetitions (${s.rows[0]?.reps ?? '-'} at ${mib(s.sizes[0] ?? 0)} down to ` +
      `${s.rows.find((r) => r.bytes === s.sizes[s.sizes.length - 1])?.reps ?? '-'} at ${mib(s.sizes[s.sizes.length - 1] ?? 0)}). ` +
      '**Rank bandwidth = (bytes this rank sends to other ranks + bytes it receives from other ranks) / time**, the bytes ' +
      'taken from the communicator\'s accounting (`comm.snapshot()`), i.e. 2·(P−1)/P·S for both collectives (the block a ' +
      'rank keeps counts zero). Algorithm bandwidth S / time is in the JSON. **memcpy** = S / time of ' +
      '`dst.set(src)` on Float32Arrays of S bytes, one thread, no other rank running, measured before every round and ' +
      'after the last. The comparison is like for like on the threads backend: a rank copies each byte it sends once ' +
      '(into its staging buffer) and each byte it receives once (out of the peer\'s), so 100% means a rank copies as fast ' +
      'as one thread copying alone; from 64 KiB up the backend copies with one native memcpy (`copyPayload`), since V8 ' +
      'copies typed arrays on a SharedArrayBuffer up to 45% slower for large payloads. **Copy floor** = the time of those same ' +
      'copies (send part into a scratch buffer, own block, the received part out of it) done by every rank at once after a barrier, with no ' +
      'communication: what memory bandwidth and cores allow the threads design; "of floor" = floor time / collective ' +
      'time. The MPI backend can beat it (Open MPI moves large messages with fewer copies). **threads+shared** is the ' +
      'threads backend with send buffers from `comm.allocShared`, which peers read in place: a rank copies only its own ' +
      'block and what it receives (one copy per transfer), and its floor leaves the copy in out. GB = 1e9 bytes.',
    '',
    `Charts: [allToAll](docs/bench/comm-bandwidth-alltoall${suffix}.svg), ` +
      `[allGather](docs/bench/comm-bandwidth-allgather${suffix}.svg); raw data: ` +
      `[docs/bench/comm-bandwidth${suffix}.json](docs/bench/comm-bandwidth${suffix}.json).`,
    '',
    `![allToAll rank bandwidth against memcpy](docs/bench/comm-bandwidth-alltoall${suffix}.svg)`,
    '',
    '### allToAll',
    '',
    opTable(s, 'allToAll'),
    '',
    '### allGather',
    '',
    opTable(s, 'allGather'),
    '',
    '### Against the target (threads backend: 50% of memcpy or better from 16 MiB)',
    '',
    'Rank bandwidth as a share of single-thread memcpy bandwidth: the median over all rounds, and in brackets the ' +
      'lowest and highest round (each round\'s own median), which shows how much the load on the machine moved it.',
    '',
    shareTable(s),
    '',
    ...reading,
    ...(s.failures.length ? ['', ...s.failures.map((f) => `- ${f.config} failed: ${f.error}`)] : []),
    `- Every received buffer was checked against what the peers sent: ${s.allCorrect ? 'all correct' : '**some were wrong**'}.`,
    '',
  ].join('\n');
  return { markdown: md, charts };
}
