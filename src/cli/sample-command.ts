// `ulysses sample`: continue a prompt with a trained checkpoint, streaming bytes as they come.
import type { Command } from 'commander';
import { DOC_SEPARATOR, encodeText } from '../train/data/tokenizer.js';
import { ConfigError } from '../train/errors.js';
import { generate, loadModelFromCheckpoint } from '../train/generate.js';
import { kernelsFor } from '../train/run.js';
import { runCommand } from './cli-errors.js';

interface SampleFlags {
  checkpoint: string;
  prompt: string;
  tokens: string;
  temperature: string;
  seed: string;
  topK: string;
  kernels: string;
  threads: string;
}

function number(flag: string, text: string, min: number, integer: boolean): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new ConfigError(`${flag} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(text)}`);
  }
  return v;
}

export function addSampleCommand(program: Command): void {
  program
    .command('sample')
    .description('generate text from a checkpoint (bytes, autoregressive)')
    .requiredOption('--checkpoint <dir>', 'checkpoint folder, e.g. runs/<name>/checkpoint')
    .option('--prompt <text>', 'text to continue (empty: start a new document)', '')
    .option('--tokens <n>', 'bytes to generate', '200')
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', '0.8')
    .option('--top-k <k>', 'sample among the k most likely bytes (0 = all)', '0')
    .option('--seed <n>', 'sampling seed', '1')
    .option('--kernels <kind>', '"native" or "reference"', 'native')
    .option('--threads <n>', 'kernel and BLAS threads', '1')
    .action((f: SampleFlags) =>
      runCommand(() => {
        if (f.kernels !== 'native' && f.kernels !== 'reference') {
          throw new ConfigError(`--kernels must be "native" or "reference", got ${JSON.stringify(f.kernels)}`);
        }
        const kernels = kernelsFor(f.kernels, number('--threads', f.threads, 1, true));
        const model = loadModelFromCheckpoint(f.checkpoint, kernels);
        const promptTokens = Array.from(encodeText(f.prompt));
        // An empty prompt starts right after a document separator, as a new document does in training.
        const context = promptTokens.length > 0 ? promptTokens : [DOC_SEPARATOR];
        process.stdout.write(f.prompt);
        generate(model, context, {
          tokens: number('--tokens', f.tokens, 1, true),
          temperature: number('--temperature', f.temperature, 0, false),
          topK: number('--top-k', f.topK, 0, true),
          seed: number('--seed', f.seed, 0, true),
          onToken: (t) => process.stdout.write(t === DOC_SEPARATOR ? '\n\n' : Uint8Array.of(t)),
        });
        process.stdout.write('\n');
      }),
    );
}
