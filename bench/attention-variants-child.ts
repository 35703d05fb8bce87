// A child process of the attention-variants benchmark: one threads job of attention-variants-rank.js,
// in a fresh process so that the peak RSS it reports belongs to this variant and N alone.
//   node dist/bench/attention-variants-child.js <P> '<VariantArgs as JSON>'
import { launchThreads } from '../src/dist/threads/launcher.js';
import type { VariantArgs, VariantRankResult } from './attention-variants-rank.js';
import { maxRssBytes } from './util.js';

const P = Number(process.argv[2]);
const args = JSON.parse(process.argv[3] ?? '{}') as VariantArgs;
const baselineRssBytes = process.memoryUsage().rss;
const ranks = await launchThreads<VariantRankResult>(P, new URL('./attention-variants-rank.js', import.meta.url), args, { timeoutMs: 900_000 });
process.stdout.write(`${JSON.stringify({ P, ranks, baselineRssBytes, peakRssBytes: maxRssBytes() })}\n`);
