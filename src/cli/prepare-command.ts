// `ulysses prepare`: tokenize a corpus once into a token file that training reads on demand.
import type { Command } from 'commander';
import { prepareTokenFile } from '../train/data/corpus.js';
import { openTokenizer } from '../train/data/hf-tokenizer.js';
import { runCommand } from './cli-errors.js';

export function addPrepareCommand(program: Command): void {
  program
    .command('prepare')
    .description('tokenize a corpus (bytes, or a Hugging Face tokenizer) into a .tokens file that training reads with random access')
    .requiredOption('--corpus <spec>', '"brown", a text file, or a folder of .txt files')
    .requiredOption('--out <file>', 'output token file, e.g. data/brown.tokens')
    .option('--tokenizer <spec>', '"bytes", or a tokenizer.json or its folder (train with the same data.tokenizer)', 'bytes')
    .action((opts: { corpus: string; out: string; tokenizer: string }) =>
      runCommand(() => {
        const t0 = performance.now();
        const h = prepareTokenFile(opts.corpus, opts.out, openTokenizer(opts.tokenizer));
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        console.log(
          `wrote ${opts.out}: ${h.tokenCount} tokens (uint${8 * h.bytesPerToken}, vocabulary ${h.vocabSize}), ` +
            `${h.documentCount} documents, in ${s} s`,
        );
      }),
    );
}
