// `ulysses train`: the config file and flags become config layers over the defaults (or over a
// resumed checkpoint's config), then the run starts. With no options it is the default Brown run.
import type { Command } from 'commander';
import { CONFIG_SCHEMA } from '../train/config-schema.js';
import { parseSetOverride, readConfigFile, type ConfigLayer } from '../train/config.js';
import { formatMemoryPlan, planMemory } from '../train/dry-run.js';
import { findMaxSeq, formatMaxSeq, parseByteSize } from '../train/max-seq.js';
import { processProbe } from '../train/max-seq-probe.js';
import { launchTraining } from '../train/parallel-run.js';
import { hfModelLayer } from '../train/hf-import.js';
import { resolveRunConfig } from '../train/run.js';
import { describeSchema } from '../train/schema.js';
import { runCommand } from './cli-errors.js';

/** A shortcut flag: its option name, the config key it sets, and whether its value is text. */
interface FlagSpec {
  flag: string;
  /** Property commander stores the value under. */
  prop: string;
  path: string;
  text: boolean;
  help: string;
}

const FLAGS: readonly FlagSpec[] = [
  { flag: '--steps <n>', prop: 'steps', path: 'train.steps', text: false, help: 'optimizer steps' },
  { flag: '--lr <x>', prop: 'lr', path: 'optimizer.params.lr', text: false, help: 'peak learning rate' },
  { flag: '--seq-len <n>', prop: 'seqLen', path: 'data.seq_len', text: false, help: 'tokens per sequence' },
  { flag: '--batch-size <n>', prop: 'batchSize', path: 'train_micro_batch_size_per_gpu', text: false, help: 'sequences per micro-batch' },
  { flag: '--grad-accum <n>', prop: 'gradAccum', path: 'gradient_accumulation_steps', text: false, help: 'micro-batches per step' },
  { flag: '--corpus <spec>', prop: 'corpus', path: 'data.corpus', text: true, help: '"brown", a text file, a folder of .txt files, or a .tokens file' },
  { flag: '--model <type>', prop: 'model', path: 'model.type', text: true, help: '"gpt" or "llama"' },
  { flag: '--kernels <kind>', prop: 'kernels', path: 'train.kernels', text: true, help: '"native" or "reference"' },
  { flag: '--threads <n>', prop: 'threads', path: 'train.threads', text: false, help: 'kernel and BLAS threads' },
  { flag: '--sp <n>', prop: 'sp', path: 'sequence_parallel_size', text: false, help: 'Ulysses sequence-parallel ranks' },
  { flag: '--dp <n>', prop: 'dp', path: 'data_parallel_size', text: false, help: 'data-parallel groups of sequence-parallel ranks' },
  {
    flag: '--backend <kind>', prop: 'backend', path: 'train.backend', text: true,
    help: '"threads" (worker threads of this process), "mpi" (one process per rank: mpirun -np <sp x dp> ulysses train ...) or "auto" (mpi under mpirun)',
  },
  { flag: '--seed <n>', prop: 'seed', path: 'seed', text: false, help: 'seed of init and data order' },
  { flag: '--name <run>', prop: 'name', path: 'train.run_name', text: true, help: 'run folder name (default: a timestamp)' },
  { flag: '--out-dir <dir>', prop: 'outDir', path: 'train.out_dir', text: true, help: 'folder of run folders (default: runs)' },
  { flag: '--val-every <n>', prop: 'valEvery', path: 'data.val_every', text: false, help: 'validate every n steps' },
  { flag: '--checkpoint-every <n>', prop: 'checkpointEvery', path: 'train.checkpoint_every', text: false, help: 'checkpoint every n steps' },
];

interface TrainOptions {
  config?: string;
  set: string[];
  resume?: string;
  printConfig?: boolean;
  listKeys?: boolean;
  dryRun?: boolean;
  maxSeq?: boolean;
  memBudget?: string;
  [prop: string]: unknown;
}

/** The config layers of a train command line, lowest priority first: file, flags, --set. */
export function trainLayers(opts: TrainOptions): ConfigLayer[] {
  const layers: ConfigLayer[] = [];
  if (opts.config !== undefined) layers.push(readConfigFile(opts.config));
  for (const f of FLAGS) {
    const v = opts[f.prop];
    if (typeof v !== 'string') continue;
    const option = f.flag.split(' ')[0] as string;
    const layer = f.text ? { kind: 'set' as const, path: f.path, value: v, source: option } : { ...parseSetOverride(`${f.path}=${v}`), source: option };
    layers.push(layer);
  }
  for (const s of opts.set) layers.push(parseSetOverride(s));
  // The folder's model shape comes last so no flag or --set can contradict the weights it loads.
  if (typeof opts.initFrom === 'string') {
    layers.push({ kind: 'set', path: 'train.init_from', value: opts.initFrom, source: '--init-from' });
    layers.push(hfModelLayer(opts.initFrom));
  }
  return layers;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function addTrainCommand(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a model; with no options, a small GPT on the Brown corpus (two to four minutes on two cores)')
    .option('--config <file>', 'JSON config (DeepSpeed-style keys; see --list-keys)')
    .option('--set <key=value>', 'set any config key, e.g. --set model.n_layers=6 (repeatable; applied last)', collect, [])
    .option('--resume <checkpoint>', 'continue from a checkpoint folder, e.g. runs/<name>/checkpoint')
    .option('--init-from <dir>', 'start from the weights of a Hugging Face model folder (or a ulysses run folder); sets train.init_from and the model section');
  for (const f of FLAGS) cmd.option(f.flag, `${f.help} (sets ${f.path})`);
  cmd
    .option('--print-config', 'print the resolved config as JSON and exit')
    .option('--list-keys', 'list every config key with its meaning and allowed values, and exit')
    .option('--dry-run', 'print the memory each rank is expected to hold (parameters, gradients, optimizer, activations, buffers) and exit')
    .option('--max-seq', 'find the longest data.seq_len whose training step fits --mem-budget per rank (accounting, then real steps), print predicted vs measured, and exit')
    .option('--mem-budget <size>', 'memory per rank for --max-seq, e.g. 24GiB, 512MiB', '24GiB')
    .addHelpText('after', '\nPrecedence: defaults < --config file < flags < --set. Unknown keys are errors.\n' +
      'Across processes or machines: mpirun -np 4 ulysses train --backend mpi --sp 4 (rank 0 writes the run folder).\nOutputs: <out_dir>/<name>/config.json, metrics.jsonl, train.log (the printed lines), checkpoint/ (Hugging Face safetensors + config.json).')
    .action((opts: TrainOptions) =>
      runCommand(async () => {
        if (opts.listKeys) {
          console.log(describeSchema(CONFIG_SCHEMA).join('\n'));
          return;
        }
        const { config, checkpoint } = resolveRunConfig(trainLayers(opts), opts.resume ?? null);
        if (opts.printConfig) {
          console.log(JSON.stringify(config, null, 2));
          return;
        }
        if (opts.maxSeq) {
          const budget = parseByteSize(opts.memBudget ?? '24GiB');
          const result = await findMaxSeq(config, { budget, probe: processProbe(config), log: (line) => console.log(line) });
          console.log(formatMaxSeq(config, result).join('\n'));
          return;
        }
        if (opts.dryRun) {
          console.log(formatMemoryPlan(planMemory(config)).join('\n'));
          return;
        }
        await launchTraining(config, checkpoint);
      }),
    );
}
