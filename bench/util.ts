// Small helpers shared by the benchmark sections: statistics, formatting, machine facts and
// running one measurement in a child process (so peak RSS is per measurement).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GiB = 1 << 30;
export const MiB = 1 << 20;

/** Folder of the compiled bench (dist/bench) and of the sources (bench/). */
export const distBenchDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(distBenchDir, '..', '..');
export const srcBenchDir = join(repoRoot, 'bench');

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Seconds since an arbitrary origin, sub-microsecond resolution. */
export function nowS(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export function fmt(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  return x.toFixed(digits);
}

export function fmtBytes(b: number | null | undefined): string {
  if (b === null || b === undefined || !Number.isFinite(b)) return '-';
  if (Math.abs(b) >= GiB) return `${(b / GiB).toFixed(2)} GiB`;
  if (Math.abs(b) >= MiB) return `${(b / MiB).toFixed(1)} MiB`;
  return `${(b / 1024).toFixed(0)} KiB`;
}

export function fmtN(n: number): string {
  return n % 1024 === 0 ? `${n / 1024}K` : String(n);
}

/** A markdown table; the same text is printed to the terminal and written to BENCHMARKS.md. */
export function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const sep = `|${header.map(() => '---').join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}

export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  node: string;
  openblas: string;
}

export function machineInfo(openblasCore: string): Machine {
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const total = /MemTotal:\s+(\d+) kB/.exec(meminfo)?.[1];
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memGiB: total === undefined ? Number.NaN : Number(total) / (1024 * 1024),
    node: process.version,
    openblas: openblasCore,
  };
}

/** MemAvailable from /proc/meminfo, in bytes. */
export function memAvailableBytes(): number {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  return m === undefined ? 0 : Number(m) * 1024;
}

export interface ChildResult<T> {
  /** The JSON object printed on the child's last stdout line, or null. */
  json: T | null;
  /** OpenBLAS core name the child reported (OPENBLAS_VERBOSE=2), or null. */
  core: string | null;
  timedOut: boolean;
  /** Why json is null (exit status, signal, last stderr lines). */
  failure: string | null;
  wallS: number;
}

/**
 * Runs a command that prints one JSON object on its last stdout line. OPENBLAS_VERBOSE=2 makes
 * OpenBLAS name the kernel family it picked, which decides GEMM speed on this CPU.
 */
export function runJsonChild<T>(
  cmd: string, args: readonly string[], timeoutS: number, extraEnv: Record<string, string> = {},
): ChildResult<T> {
  const t0 = nowS();
  const r = spawnSync(cmd, args, {
    cwd: repoRoot,
    env: { ...process.env, OPENBLAS_VERBOSE: '2', ...extraEnv },
    timeout: timeoutS * 1000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * MiB,
    encoding: 'utf8',
  });
  const wallS = nowS() - t0;
  const stderr = r.stderr ?? '';
  const core = /Core: (\S+)/.exec(stderr)?.[1] ?? null;
  const timedOut = r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  const lines = (r.stdout ?? '').trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (!timedOut && r.status === 0 && last.startsWith('{')) {
    return { json: JSON.parse(last) as T, core, timedOut, failure: null, wallS };
  }
  // Error messages, not stack frames, say what went wrong.
  const tail = stderr.trim().split('\n').map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('Core:') && !l.startsWith('at ') && !l.startsWith('^'))
    .slice(-2).join(' / ').slice(0, 300);
  const why = timedOut
    ? `timed out after ${timeoutS} s`
    : `exit ${r.status ?? 'null'}${r.signal ? ` signal ${r.signal}` : ''}${tail ? `: ${tail}` : ''}`;
  return { json: null, core, timedOut, failure: why, wallS };
}

/** Runs a bench worker mode (dist/bench/worker.js) in a fresh node process. */
export function runWorker<T>(
  mode: string, opts: Record<string, string | number>, timeoutS: number,
  extraEnv: Record<string, string> = {},
): ChildResult<T> {
  const args = [join(distBenchDir, 'worker.js'), mode];
  for (const [k, v] of Object.entries(opts)) args.push(`--${k}`, String(v));
  return runJsonChild<T>(process.execPath, args, timeoutS, extraEnv);
}

/** Peak resident set size of this process so far, in bytes. */
export function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Parses `--key value` pairs (used by the worker). */
export function parseOpts(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith('--')) {
      out.set(a.slice(2), argv[i + 1] ?? '');
      i++;
    }
  }
  return out;
}

export function numOpt(opts: Map<string, string>, key: string, fallback?: number): number {
  const v = opts.get(key);
  if (v === undefined) {
    if (fallback === undefined) throw new Error(`bench worker: missing --${key}`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`bench worker: --${key} must be a number, got ${v}`);
  return n;
}

/** Fills a buffer with deterministic values in [-1, 1) (touching every page). */
export function fillRandom(a: Float32Array, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < a.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
}
