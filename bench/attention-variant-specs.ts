// The attention variants the variants benchmark times against dense flash: block-sparse layouts
// keeping 10%, 25% and 50% of the causal blocks (the diagonal plus random blocks), BigBird, and
// sliding windows of 512 and 1024 tokens. Built the same way in every process and rank from N and
// the block size, so a child is told only which one to run.
import { bigBirdLayout, layoutDensity, randomLayout } from '../src/attention/block-sparse-layouts.js';
import type { AttentionMaskSpec } from '../src/kernels/kernels.js';

export interface Variant {
  name: string;
  /** The mask over the whole sequence of N tokens (what one worker, or Ulysses' local core, sees). */
  mask: AttentionMaskSpec;
  /** Share of the causal (query, key) pairs or blocks the variant computes. */
  kept: number;
}

export function attentionVariants(N: number, bs: number): Variant[] {
  const causal = true;
  const out: Variant[] = [{ name: 'dense flash', mask: { causal, docIds: null }, kept: 1 }];
  for (const density of [0.5, 0.25, 0.1]) {
    const blockLayout = randomLayout({ T: N, blockSize: bs, density, seed: 1, causal });
    out.push({
      name: `block-sparse ${Math.round(density * 100)}%`,
      mask: { causal, docIds: null, blockLayout },
      kept: layoutDensity(blockLayout, causal),
    });
  }
  const bigBird = bigBirdLayout({ T: N, blockSize: bs, localBlocks: 1, globalBlocks: 1, randomBlocks: 3, seed: 1, causal });
  out.push({ name: 'BigBird 1+1+3', mask: { causal, docIds: null, blockLayout: bigBird }, kept: layoutDensity(bigBird, causal) });
  for (const w of [1024, 512]) {
    // Pairs with 0 <= i - j < w among the N(N+1)/2 causal pairs.
    const pairs = N * w - (w * (w - 1)) / 2;
    out.push({ name: `window w=${w}`, mask: { causal, docIds: null, window: w }, kept: pairs / ((N * (N + 1)) / 2) });
  }
  return out;
}
