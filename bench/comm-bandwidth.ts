// Communication bandwidth of allToAll and allGather per rank, on the threads backend and on the
// MPI backend, for payloads of 1 to 256 MiB and P = 2 and 4, against single-thread memcpy
// (TypedArray.set) measured in the same run. Rounds interleave every configuration so load from
// other users of the machine hits them alike.
//
//   node dist/bench/comm-bandwidth.js [--quick]
//   node dist/bench/comm-bandwidth.js --report-only [--quick]   (rewrite md and charts from the last json)
//   node dist/bench/comm-bandwidth.js --threads-only --sizes=1,16,64 --rounds=2 --out=/tmp/bw
//
// Writes docs/bench/comm-bandwidth.{json,md} (or under --out) and one SVG chart per collective.
// "threads+shared" sends from buffers the communicator allocated (Communicator.allocShared), which
// peers read in place; plain "threads" sends from ordinary Float32Arrays.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchThreads } from '../src/dist/threads/launcher.js';
import type { BwArgs, BwOp, BwRankResult } from './comm-bandwidth-rank.js';
import { bandwidthReport, type BwRow, type BwSummary } from './comm-bandwidth-report.js';
import { distBenchDir, median, MiB, nowS, repoRoot } from './util.js';

type Backend = 'threads' | 'threads+shared' | 'mpi';

interface Config {
  readonly backend: Backend;
  readonly P: number;
}

/** The value of `--name=value` on the command line, if given. */
function flag(name: string): string | undefined {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg?.slice(name.length + 3);
}

const quick = process.argv.includes('--quick');
const threadsOnly = process.argv.includes('--threads-only');
const sizeList = flag('sizes')?.split(',').map(Number);
if (sizeList && !sizeList.every((m) => Number.isInteger(m) && m > 0)) {
  throw new RangeError(`comm-bandwidth: --sizes takes whole MiB counts separated by commas, got ${flag('sizes')}`);
}
const sizes = (sizeList ?? (quick ? [1, 4, 16] : [1, 2, 4, 8, 16, 32, 64, 128, 256])).map((m) => m * MiB);
/** Enough repetitions for a stable median at small sizes, few at large ones (a call is 10-300 ms). */
const repsFor = (bytes: number): number => (quick ? 3 : Math.max(3, Math.min(15, Math.round((48 * MiB) / bytes))));
const reps = sizes.map(repsFor);
const rounds = Number(flag('rounds') ?? (quick ? 1 : 3));
if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`comm-bandwidth: --rounds takes a positive integer, got ${flag('rounds')}`);
const ops: BwOp[] = ['allToAll', 'allGather'];
const configs: Config[] = ([2, 4] as const).flatMap((P): Config[] => [
  { backend: 'threads', P }, { backend: 'threads+shared', P }, ...(threadsOnly ? [] : [{ backend: 'mpi', P } as const]),
]);
const outDir = flag('out') ?? join(repoRoot, 'docs', 'bench');
const jsonPath = join(outDir, `comm-bandwidth${quick ? '-quick' : ''}.json`);

/** Median seconds of `dst.set(src)` for each size, single thread, on buffers touched beforehand. */
function memcpyTimes(into: Map<number, number[]>): void {
  const max = Math.max(...sizes) / 4;
  const src = new Float32Array(max);
  const dst = new Float32Array(max);
  for (let i = 0; i < max; i++) src[i] = i;
  dst.set(src);
  sizes.forEach((bytes, si) => {
    const n = bytes / 4;
    const s = src.subarray(0, n);
    dst.set(s); // warm-up at this size
    for (let k = 0; k < (reps[si] ?? 3); k++) {
      const t0 = nowS();
      dst.set(s);
      const t = nowS() - t0;
      into.get(bytes)?.push(t);
    }
  });
}

function runMpi(P: number, args: BwArgs): BwRankResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'ulysses-bw-'));
  try {
    const r = spawnSync('mpirun', [
      '--allow-run-as-root', '--oversubscribe', '-np', String(P),
      process.execPath, join(distBenchDir, 'comm-bandwidth-mpi.js'), JSON.stringify(args), dir,
    ], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000, killSignal: 'SIGTERM', maxBuffer: 16 * MiB });
    const files = Array.from({ length: P }, (_, rank) => join(dir, `rank-${rank}.json`));
    if (r.status !== 0 || !files.every((f) => existsSync(f))) {
      const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' / ');
      throw new Error(`mpirun -np ${P} failed (exit ${r.status ?? r.signal ?? r.error?.message}): ${tail}`);
    }
    return files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as BwRankResult);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runConfig(c: Config): Promise<BwRankResult[]> {
  const args: BwArgs = { sizes, reps, ops, sharedSend: c.backend === 'threads+shared' };
  if (c.backend === 'mpi') return runMpi(c.P, args);
  return launchThreads<BwRankResult>(c.P, new URL('./comm-bandwidth-rank.js', import.meta.url), args, { timeoutMs: 120_000 });
}

const key = (c: Config, op: BwOp, bytes: number): string => `${c.backend}/${c.P}/${op}/${bytes}`;

async function main(): Promise<void> {
  const started = new Date();
  const load0 = loadavg()[0] ?? Number.NaN;
  const t0 = nowS();
  const memcpy = new Map<number, number[]>(sizes.map((b) => [b, []]));
  /** Collective time per repetition (the slowest rank's), seconds, keyed by config/op/size. */
  const coll = new Map<string, number[]>();
  const floor = new Map<string, number[]>();
  const volume = new Map<string, { sent: number; received: number }>();
  const failures = new Map<string, string>();
  let allCorrect = true;
  for (let round = 0; round < rounds; round++) {
    memcpyTimes(memcpy);
    // Rotating the order each round keeps any drift in the machine's load from favouring one config.
    const order = configs.map((_, i) => configs[(i + round) % configs.length] as Config);
    for (const c of order) {
      const name = `${c.backend} P=${c.P}`;
      if (failures.has(name)) continue;
      process.stdout.write(`round ${round + 1}/${rounds}: ${name} ...`);
      const ts = nowS();
      let ranks: BwRankResult[];
      try {
        ranks = await runConfig(c);
      } catch (e) {
        failures.set(name, e instanceof Error ? e.message : String(e));
        process.stdout.write(` failed: ${failures.get(name)}\n`);
        continue;
      }
      process.stdout.write(` ${(nowS() - ts).toFixed(1)} s\n`);
      ranks[0]?.results.forEach((res, i) => {
        const k = key(c, res.op, res.bytes);
        const per = ranks.map((r) => r.results[i]);
        allCorrect &&= per.every((p) => p?.correct === true);
        // A repetition lasts from the first rank leaving the barrier to the last rank returning:
        // with more ranks than cores, ranks do not all run at once, and per-rank times would hide it.
        const wall = (get: (p: BwRankResult['results'][number]) => [number, number][], into: Map<string, number[]>): void => {
          const list = into.get(k) ?? [];
          res.spans.forEach((_, rep) => {
            const spans = per.map((p): [number, number] => (p ? get(p)[rep] : undefined) ?? [Number.NaN, Number.NaN]);
            list.push((Math.max(...spans.map(([, end]) => end)) - Math.min(...spans.map(([start]) => start))) / 1e3);
          });
          into.set(k, list);
        };
        wall((p) => p.spans, coll);
        wall((p) => p.floorSpans, floor);
        volume.set(k, {
          sent: Math.max(...per.map((p) => p?.sentPerCall ?? 0)),
          received: Math.max(...per.map((p) => p?.receivedPerCall ?? 0)),
        });
      });
    }
  }
  memcpyTimes(memcpy);
  const memcpyBw = new Map(sizes.map((b) => [b, b / median(memcpy.get(b) ?? [])]));
  const rows: BwRow[] = [];
  for (const c of configs) {
    for (const op of ops) {
      for (const bytes of sizes) {
        const k = key(c, op, bytes);
        const times = coll.get(k);
        const v = volume.get(k);
        if (!times || !v) continue;
        const t = median(times);
        const floorS = median(floor.get(k) ?? []);
        const rankBw = (v.sent + v.received) / t;
        const perRound = repsFor(bytes);
        const roundTimes = Array.from({ length: Math.floor(times.length / perRound) }, (_, r) => median(times.slice(r * perRound, (r + 1) * perRound)));
        rows.push({
          backend: c.backend, P: c.P, op, bytes, seconds: t, floorSeconds: floorS, ofFloor: floorS / t, reps: times.length,
          sentBytes: v.sent, receivedBytes: v.received, rankBw, algBw: bytes / t,
          ofMemcpy: rankBw / (memcpyBw.get(bytes) ?? Number.NaN),
          ofMemcpyRounds: roundTimes.map((rt) => (v.sent + v.received) / rt / (memcpyBw.get(bytes) ?? Number.NaN)),
        });
      }
    }
  }
  const summary: BwSummary = {
    date: started.toISOString(), quick, rounds, wallS: nowS() - t0, loadStart: load0, loadEnd: loadavg()[0] ?? Number.NaN,
    sizes, memcpyBw: sizes.map((b) => memcpyBw.get(b) ?? Number.NaN), memcpyReps: sizes.map((b) => memcpy.get(b)?.length ?? 0),
    rows, failures: [...failures].map(([config, error]) => ({ config, error })), allCorrect,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(summary, null, 1)}\n`);
  writeReport(summary);
  if (!allCorrect) {
    process.stderr.write('comm-bandwidth: a collective delivered wrong data (see the json)\n');
    process.exitCode = 1;
  }
}

function writeReport(summary: BwSummary): void {
  const report = bandwidthReport(summary);
  const suffix = quick ? '-quick' : '';
  writeFileSync(join(outDir, `comm-bandwidth${suffix}.md`), report.markdown);
  for (const [name, svg] of report.charts) writeFileSync(join(outDir, `${name}${suffix}.svg`), svg);
  process.stdout.write(`\n${report.markdown}`);
}

if (process.argv.includes('--report-only')) writeReport(JSON.parse(readFileSync(jsonPath, 'utf8')) as BwSummary);
else await main();
