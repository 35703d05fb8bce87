// `ulysses report <run-dir>`: writes one self-contained HTML report of a run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../tensor/safetensors.js';
import { UserError } from '../train/errors.js';
import { readRunForReport, renderReport } from '../web/report.js';
import { runCommand } from './cli-errors.js';

export function addReportCommand(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report of a run (summary, charts, config; opens offline)')
    .argument('<run-dir>', 'run folder, e.g. runs/<name>')
    .option('--out <file>', 'output HTML file (default: <run-dir>/report.html)')
    .action((runDir: string, f: { out?: string }) =>
      runCommand(() => {
        if (!existsSync(join(runDir, 'metrics.jsonl'))) {
          throw new UserError(`${runDir} has no metrics.jsonl: pass a run folder (runs/<name>) that has trained at least one step`);
        }
        const input = readRunForReport(runDir);
        const out = f.out ?? join(runDir, 'report.html');
        writeFileAtomic(out, renderReport(input));
        console.log(`wrote ${out}: ${input.records.length} steps of ${input.name}`);
      }),
    );
}
