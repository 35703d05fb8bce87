// `ulysses sample`: continue a prompt with a trained checkpoint, streaming text as it comes, in the
// tokenizer the run trained with (bytes, or its Hugging Face tokenizer.json).
import type { Command } from 'commander';
import { openTokenizer, type Tokenizer } from '../train/data/hf-tokenizer.js';
import { ConfigError } from '../train/errors.js';
import { generate, loadRunModel } from '../train/generate.js';
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
  tokenizer?: string;
}

function number(flag: string, text: string, min: number, integer: boolean): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new ConfigError(`${flag} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(text)}`);
  }
  return v;
}

/**
 * Turns tokens into text as they come: a document separator prints a blank line, and the text of a
 * document is written once its decoding no longer ends in a cut character (a byte-level token may
 * hold part of one).
 */
export class TextStream {
  private ids: number[] = [];
  private written = 0;

  constructor(private readonly tok: Tokenizer, private readonly write: (text: string) => void) {}

  push(id: number): void {
    if (id === this.tok.separatorId) {
      this.flush();
      this.write('\n\n');
      return;
    }
    this.ids.push(id);
    const text = this.tok.decode(this.ids);
    if (!text.endsWith('\uFFFD')) this.emit(text);
  }

  /** Writes what is left of the current document, cut characters included. */
  flush(): void {
    if (this.ids.length > 0) this.emit(this.tok.decode(this.ids));
    this.ids = [];
    this.written = 0;
  }

  private emit(text: string): void {
    if (text.length > this.written) this.write(text.slice(this.written));
    this.written = Math.max(this.written, text.length);
  }
}

export function addSampleCommand(program: Command): void {
  program
    .command('sample')
    .description('generate text from a checkpoint (autoregressive, in the tokenizer the run trained with)')
    .requiredOption('--checkpoint <dir>', 'checkpoint folder, e.g. runs/<name>/checkpoint')
    .option('--prompt <text>', 'text to continue (empty: start a new document)', '')
    .option('--tokens <n>', 'tokens to generate', '200')
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', '0.8')
    .option('--top-k <k>', 'sample among the k most likely tokens (0 = all)', '0')
    .option('--seed <n>', 'sampling seed', '1')
    .option('--kernels <kind>', '"native" or "reference"', 'native')
    .option('--threads <n>', 'kernel and BLAS threads', '1')
    .option('--tokenizer <spec>', 'tokenizer to use instead of the run\'s data.tokenizer ("bytes" or a tokenizer.json or its folder)')
    .action((f: SampleFlags) =>
      runCommand(() => {
        if (f.kernels !== 'native' && f.kernels !== 'reference') {
          throw new ConfigError(`--kernels must be "native" or "reference", got ${JSON.stringify(f.kernels)}`);
        }
        const kernels = kernelsFor(f.kernels, number('--threads', f.threads, 1, true));
        const run = loadRunModel(f.checkpoint, kernels);
        const tok = openTokenizer(f.tokenizer ?? run.tokenizer);
        if (tok.vocabSize > run.model.config.vocab_size) {
          throw new ConfigError(`the tokenizer has ${tok.vocabSize} tokens, more than the model's vocab_size ${run.model.config.vocab_size}: not the run's tokenizer`);
        }
        const promptTokens = tok.encode(f.prompt);
        if (promptTokens.length === 0 && tok.separatorId === null) {
          throw new ConfigError('the tokenizer has no end-of-document token to start a new document from; give a --prompt');
        }
        // An empty prompt starts right after a document separator, as a new document does in training.
        const context = promptTokens.length > 0 ? promptTokens : [tok.separatorId as number];
        process.stdout.write(f.prompt);
        const stream = new TextStream(tok, (text) => process.stdout.write(text));
        generate(run.model, context, {
          tokens: number('--tokens', f.tokens, 1, true),
          temperature: number('--temperature', f.temperature, 0, false),
          topK: number('--top-k', f.topK, 0, true),
          seed: number('--seed', f.seed, 0, true),
          onToken: (t) => stream.push(t),
        });
        stream.flush();
        process.stdout.write('\n');
      }),
    );
}
