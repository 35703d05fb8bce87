// A child process of the Ulysses scaling benchmark: one threads job of ulysses-scaling-rank.js,
// in a fresh process so that the peak RSS it reports belongs to this configuration alone.
//   node dist/bench/ulysses-scaling-child.js <P> '<StepArgs or VolumeArgs as JSON>'
// Prints one JSON line: every rank's result, the process's peak RSS and its RSS before the job.
import { launchThreads } from '../src/dist/threads/launcher.js';
import type { StepArgs, VolumeArgs } from './ulysses-scaling-rank.js';
import { maxRssBytes } from './util.js';

const P = Number(process.argv[2]);
const args = JSON.parse(process.argv[3] ?? '{}') as StepArgs | VolumeArgs;
const baselineRssBytes = process.memoryUsage().rss;
// A long step on oversubscribed cores is slow, not hung: give collectives ten minutes.
const ranks = await launchThreads(P, new URL('./ulysses-scaling-rank.js', import.meta.url), args, { timeoutMs: 600_000 });
process.stdout.write(`${JSON.stringify({ P, ranks, baselineRssBytes, peakRssBytes: maxRssBytes() })}\n`);
