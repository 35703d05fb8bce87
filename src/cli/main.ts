#!/usr/bin/env node
// The ulysses command line: train, prepare, sample, dashboard, report, bench, plan. Usage errors from commander exit with code 2
// like config errors do.
import { Command, CommanderError } from 'commander';
import { addBenchCommand } from './bench-command.js';
import { EXIT_USAGE } from './cli-errors.js';
import { addDashboardCommand } from './dashboard-command.js';
import { addEvalCommand } from './eval-command.js';
import { addPlanCommand } from './plan-command.js';
import { addPrepareCommand } from './prepare-command.js';
import { addReportCommand } from './report-command.js';
import { addSampleCommand } from './sample-command.js';
import { addTrainCommand } from './train-command.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('ulysses')
    .description('train transformer language models on long sequences (DeepSpeed-Ulysses sequence parallelism) on CPUs')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride((err: CommanderError) => {
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    });
  addTrainCommand(program);
  addPrepareCommand(program);
  addSampleCommand(program);
  addDashboardCommand(program);
  addReportCommand(program);
  addEvalCommand(program);
  addPlanCommand(program);
  addBenchCommand(program);
  return program;
}

const program = buildProgram();
// Bare `ulysses` is a request for help, not a usage error.
if (process.argv.length <= 2) program.outputHelp();
else await program.parseAsync(process.argv);
