// The grid of `ulysses bench`: one training config per strategy × P × N, built through the same
// config layers `ulysses train` resolves, so every check of the config applies. A strategy the
// config refuses is "not available" with the config's reason; a grid Ulysses itself cannot run
// is a bad flag, refused naming the sizes that are allowed.
import { buildConfig, modelConfigOf, type ConfigLayer, type SequenceParallelMode, type UlyssesConfig } from '../../train/config.js';
import { ConfigError, UserError } from '../../train/errors.js';
import type { BenchOptions } from './options.js';

export interface BenchCase {
  mode: SequenceParallelMode;
  P: number;
  N: number;
  /** The training config, or why this strategy cannot run this cell. */
  config: UlyssesConfig | null;
  unavailable: string | null;
}

/** Bench settings over the model's: P, N, the strategy, a short quiet run with no validation and threads ranks. */
export function caseLayers(o: Pick<BenchOptions, 'modelLayers' | 'steps'>, mode: SequenceParallelMode, P: number, N: number, outDir: string): ConfigLayer[] {
  const bench = {
    sequence_parallel_size: P,
    data_parallel_size: 1,
    // A ring size given for hybrid does not apply to a plain ring, which spans all P ranks.
    sequence_parallel: mode === 'ring' ? { mode, ring_size: 'auto' } : { mode },
    data: { seq_len: N, val_fraction: 0, val_every: 0, pack_documents: false },
    model: { max_seq_len: N },
    train: { steps: o.steps + 1, backend: 'threads', out_dir: outDir, run_name: `${mode}-p${P}-n${N}`, checkpoint_every: 0, init_from: null },
    scheduler: { params: { warmup_num_steps: 'auto', total_num_steps: 'auto' } },
  };
  return [...o.modelLayers, { kind: 'json', value: bench, source: 'ulysses bench' }];
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/**
 * Ulysses is measured on the paper's equal split (P divides the query and kv heads and N), where
 * the bytes per rank have the closed form the table checks against.
 */
export function checkUlyssesGrid(c: UlyssesConfig, P: number, N: number): void {
  const mc = modelConfigOf(c);
  const allowed = divisors(mc.n_kv_heads).join(', ');
  if (mc.n_heads % P !== 0 || mc.n_kv_heads % P !== 0) {
    throw new ConfigError(
      `--sp ${P}: ulysses splits the ${mc.n_heads} query and ${mc.n_kv_heads} kv heads evenly over P ranks; allowed P for this model: ${allowed}`,
    );
  }
  if (N % P !== 0) throw new ConfigError(`--seq ${N} with --sp ${P}: every P must divide every N (ulysses gives each rank N/P tokens)`);
}

/** Every cell of the grid, in mode, P, N order. Throws for flags no strategy could use. */
export function benchCases(o: BenchOptions, outDir: string): BenchCase[] {
  const out: BenchCase[] = [];
  for (const mode of o.modes) {
    for (const P of o.sps) {
      for (const N of o.seqs) {
        let config: UlyssesConfig | null = null;
        let unavailable: string | null = null;
        try {
          config = buildConfig(caseLayers(o, mode, P, N, outDir));
          if (mode === 'ulysses') checkUlyssesGrid(config, P, N);
        } catch (err: unknown) {
          if (!(err instanceof UserError)) throw err;
          // Ulysses works today, so what it refuses is a bad flag; another strategy may just not be built yet.
          if (mode === 'ulysses') throw err;
          unavailable = err.message;
          config = null;
        }
        out.push({ mode, P, N, config, unavailable });
      }
    }
  }
  return out;
}
