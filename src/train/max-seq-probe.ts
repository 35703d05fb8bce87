// The real training step of `ulysses train --max-seq`: a fresh `ulysses train` process per length
// (peak resident memory only ever grows within a process), one step, no validation, its run folder
// in a temporary directory. Its peak is the metrics' mem_peak (the process's maximum RSS), shared
// evenly by the ranks on the threads backend, where they are threads of that one process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConfig, worldSizeOf, type UlyssesConfig } from './config.js';
import { ConfigError, UserError } from './errors.js';
import type { Probe, ProbeResult } from './max-seq.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

function runChild(args: readonly string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** A probe that trains one step of each config in a child process; the backend must be threads (or one rank). */
export function processProbe(base: UlyssesConfig): Probe {
  if (base.train.backend === 'mpi' && worldSizeOf(base) > 1) {
    throw new ConfigError('--max-seq runs its steps as worker threads of one process; use train.backend "threads" (or "auto" outside mpirun)');
  }
  return async (c: UlyssesConfig): Promise<ProbeResult> => {
    const dir = mkdtempSync(join(tmpdir(), 'ulysses-max-seq-'));
    try {
      const N = c.data.seq_len;
      const probe = buildConfig([
        { kind: 'json', value: c, source: 'max-seq' },
        ...Object.entries({
          'train.steps': 1, 'data.val_fraction': 0, 'data.val_every': 0, 'train.out_dir': dir, 'train.run_name': 'probe',
          'train.backend': 'threads',
        }).map(([path, value]) => ({ kind: 'set' as const, path, value, source: 'max-seq' })),
      ]);
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify(probe));
      const r = await runChild(['train', '--config', file]);
      if (r.status !== 0) throw new UserError(`max-seq: the training step at N = ${N} failed (exit ${r.status}):\n${r.output.trim()}`);
      const rows = readFileSync(join(dir, 'probe', 'metrics.jsonl'), 'utf8').trim().split('\n');
      const last = JSON.parse(rows[rows.length - 1] as string) as { mem_peak?: number };
      if (last.mem_peak === undefined) throw new Error(`max-seq: the step at N = ${N} reported no mem_peak`);
      return { N, measured: last.mem_peak / worldSizeOf(c) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
