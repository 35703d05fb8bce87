// Where the dashboard may read: run folders inside one runs directory, named by a relative path.
// Every name is checked as text first (no absolute paths, no "..") and then by its real path, so
// a symlink that points out of the runs directory is refused as well.
import { existsSync, lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

/** A refused request, with the HTTP status and a message for the user. */
export class HttpError extends Error {
  constructor(readonly status: 400 | 404 | 405, message: string) {
    super(message);
  }
}

const MAX_NAME = 512;
const RUN_FILES = ['metrics.jsonl', 'config.json'];

/** Whether `inner` is `outer` or lies below it (both real, absolute paths). */
function isInside(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The real path of the runs directory; refuses one that does not exist. */
export function realRunsDir(runsDir: string): string {
  if (!existsSync(runsDir) || !statSync(runsDir).isDirectory()) {
    throw new Error(`runs directory ${runsDir} does not exist (train a run first, or pass the folder that holds your runs)`);
  }
  return realpathSync(runsDir);
}

/** Checks a run name from a request and returns its real folder; refusals carry 400 or 404. */
export function resolveRunDir(root: string, name: string | null): string {
  if (name === null || name === '') throw new HttpError(400, 'missing query parameter "run" (a run folder relative to the runs directory)');
  if (name.length > MAX_NAME) throw new HttpError(400, `run name is longer than ${MAX_NAME} characters`);
  if (/[\u0000-\u001f\\]/.test(name)) throw new HttpError(400, 'run name contains control characters or a backslash');
  if (isAbsolute(name) || /^[A-Za-z]:/.test(name)) throw new HttpError(400, `run name ${JSON.stringify(name)} is absolute; give a path relative to the runs directory`);
  const parts = name.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new HttpError(400, `run name ${JSON.stringify(name)} has an empty, "." or ".." segment`);
  }
  const dir = join(root, ...parts);
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    throw new HttpError(404, `no run named ${JSON.stringify(name)} in the runs directory`);
  }
  if (!isInside(root, real)) throw new HttpError(400, `run ${JSON.stringify(name)} resolves outside the runs directory`);
  if (!statSync(real).isDirectory() || !RUN_FILES.some((f) => existsSync(join(real, f)))) {
    throw new HttpError(404, `${JSON.stringify(name)} is not a run folder (it has neither metrics.jsonl nor config.json)`);
  }
  return real;
}

/**
 * A file of a run folder, or null when it does not exist; refuses a file that is a symlink to
 * somewhere outside the runs directory.
 */
export function runFile(root: string, runDir: string, file: string): string | null {
  const path = join(runDir, file);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return null;
  }
  if (!isInside(root, real)) throw new HttpError(400, `${file} of this run resolves outside the runs directory`);
  return real;
}

export interface RunEntry {
  /** Path relative to the runs directory, with "/" separators. */
  name: string;
  /** Last modification of metrics.jsonl or config.json (ms since the epoch). */
  mtimeMs: number;
  hasCheckpoint: boolean;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Run folders under the runs directory (up to three levels deep), most recently written first. */
export function listRuns(root: string, maxDepth = 3): RunEntry[] {
  const found: RunEntry[] = [];
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    const stats = RUN_FILES.map((f) => statOrNull(join(dir, f))).filter((s): s is Stats => s !== null);
    if (stats.length > 0 && dir !== root) {
      found.push({
        name: relative(root, dir).split(sep).join('/'),
        mtimeMs: Math.max(...stats.map((s) => s.mtimeMs)),
        hasCheckpoint: existsSync(join(dir, 'checkpoint', 'manifest.json')),
      });
    }
    if (depth >= maxDepth) return;
    for (const n of names.sort()) {
      // Checkpoint folders and hidden temporaries never hold runs; symlinks are not followed when listing.
      if (n.startsWith('.') || n === 'checkpoint') continue;
      const child = join(dir, n);
      const st = lstatSync(child, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(child, depth + 1);
    }
  };
  walk(root, 0);
  return found.sort((a, b) => b.mtimeMs - a.mtimeMs || a.name.localeCompare(b.name));
}
