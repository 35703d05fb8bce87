// One cell of `ulysses bench` in its own process, so its peak resident memory is its own: trains
// the config through launchTraining (the path `ulysses train` takes, worker-thread ranks), quietly,
// and writes rank 0's per-step metrics as JSON to the file named on the command line.
//   node child.js <config.json> <result.json>
import { readFileSync, writeFileSync } from 'node:fs';
import type { UlyssesConfig } from '../../train/config.js';
import { launchTraining } from '../../train/parallel-run.js';
import type { StepMetrics } from '../../train/metrics.js';

export interface ChildResult {
  steps: StepMetrics[];
}

const [configPath, resultPath] = process.argv.slice(2);
if (configPath === undefined || resultPath === undefined) throw new Error('usage: child.js <config.json> <result.json>');
const config = JSON.parse(readFileSync(configPath, 'utf8')) as UlyssesConfig;
const outcome = await launchTraining(config, null, { quiet: true, skipPeakMeasurement: true, log: () => {} });
const result: ChildResult = { steps: outcome.result.steps };
writeFileSync(resultPath, JSON.stringify(result));
