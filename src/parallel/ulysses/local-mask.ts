// The mask a rank's local attention gets under Ulysses. After the all-to-all every rank holds the
// whole sequence for its query heads, so every condition of the mask means what it means on one
// worker: causal and the sliding window pass through, document ids are the all-gathered [B, N],
// a shared block layout passes through and a per-head layout is cut to the rank's query heads.
//
// Shape legend: B = batch, n = tokens this rank holds, N = full sequence, H = query heads of the
// model, nb = layout blocks, bs = tokens per block.
import { sliceLayoutHeads } from '../../attention/block-sparse-layouts.js';
import type { AttentionMaskSpec, BlockLayout } from '../../kernels/kernels.js';
import type { Span } from './plan.js';

/**
 * Refuses a window or block layout that cannot describe the full sequence of N tokens with H
 * query heads; runs before any communication so every rank fails alike and none waits.
 */
export function checkUlyssesMask(mask: AttentionMaskSpec, N: number, H: number, n: number): void {
  const w = mask.window ?? 0;
  if (!Number.isInteger(w) || w < 0) {
    throw new RangeError(`DistributedAttention: window must be a non-negative integer (0 = unlimited), got ${w}`);
  }
  const l = mask.blockLayout;
  if (l) checkLayout(l, N, H, n);
}

function checkLayout(l: BlockLayout, N: number, H: number, n: number): void {
  const bs = l.blockSize;
  if (!Number.isInteger(bs) || bs < 1) {
    throw new RangeError(`DistributedAttention: blockLayout.blockSize must be a positive integer, got ${bs}`);
  }
  const need = Math.ceil(N / bs);
  if (l.nBlocks !== need) {
    // A layout built for the rank's own shard is the likely mistake, so the message says so.
    const shardHint = l.nBlocks === Math.ceil(n / bs) && n !== N
      ? `; it looks built for this rank's shard of ${n} tokens, but` : ';';
    throw new RangeError(
      `DistributedAttention: blockLayout has nBlocks = ${l.nBlocks}, but the full sequence of N = ${N} tokens ` +
        `with blockSize ${bs} needs ceil(N / blockSize) = ${need}${shardHint} under Ulysses every rank attends over ` +
        `the whole sequence: build the layout with T = ${N}`,
    );
  }
  if (l.heads !== 1 && l.heads !== H) {
    throw new RangeError(
      `DistributedAttention: blockLayout.heads is ${l.heads}; it must be 1 (shared) or n_heads = ${H} (one per query head)`,
    );
  }
  if (l.mask.length < l.heads * need * need) {
    throw new RangeError(
      `DistributedAttention: blockLayout.mask has ${l.mask.length} entries, [heads, nBlocks, nBlocks] = ` +
        `[${l.heads}, ${need}, ${need}] needs ${l.heads * need * need}`,
    );
  }
}

/**
 * The mask for the local core of a rank holding query heads `heads` of the whole sequence, given
 * the all-gathered document ids [B, N]. A per-head layout indexes query heads, so it is cut to
 * [start, start + count) whether or not kv heads are expanded locally (the local core's query
 * heads are the rank's query heads in order either way).
 */
export function localUlyssesMask(mask: AttentionMaskSpec, docIds: Int32Array | null, heads: Span): AttentionMaskSpec {
  const out: AttentionMaskSpec = { causal: mask.causal, docIds };
  if (mask.window !== undefined) out.window = mask.window;
  const l = mask.blockLayout;
  if (l) out.blockLayout = l.heads === 1 ? l : sliceLayoutHeads(l, heads.start, heads.count);
  return out;
}
