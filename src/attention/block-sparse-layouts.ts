// Block-sparse attention layouts: builders for the standard patterns (BigBird, Sparse Transformer
// fixed and strided, random at a given density) and helpers to measure and slice them. A layout is
// the kernels' BlockLayout, a [heads, nBlocks, nBlocks] 0/1 mask over (query block, key block).
//
// Shape legend: T = sequence length, bs = blockSize, nb = ceil(T / bs), Lh = layout heads
// (1 or H), qb / kb = query / key block index.
import type { BlockLayout } from '../kernels/kernels.js';

/** Which blocks a builder keeps; causal drops every key block after the query block. */
export interface LayoutBase {
  /** Sequence length the layout covers (the whole sequence, also under Ulysses). */
  T: number;
  blockSize: number;
  /** 1 (shared by every head) or H; random choices differ per head. Default 1. */
  heads?: number;
  /** Keep only kb <= qb, the blocks a causal mask can see. Default false. */
  causal?: boolean;
}

/** Builds a layout from keep(h, qb, kb). */
export function layoutFrom(base: LayoutBase, keep: (h: number, qb: number, kb: number) => boolean): BlockLayout {
  const { T, blockSize } = base;
  const heads = base.heads ?? 1;
  if (!Number.isInteger(T) || T < 0) throw new RangeError(`block layout: T must be a non-negative integer, got ${T}`);
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new RangeError(`block layout: blockSize must be a positive integer, got ${blockSize}`);
  }
  if (!Number.isInteger(heads) || heads < 1) throw new RangeError(`block layout: heads must be >= 1, got ${heads}`);
  const nBlocks = Math.ceil(T / blockSize);
  const mask = new Uint8Array(heads * nBlocks * nBlocks); // [Lh, nb, nb]
  for (let h = 0; h < heads; h++) {
    for (let qb = 0; qb < nBlocks; qb++) {
      for (let kb = 0; kb < nBlocks; kb++) {
        if (base.causal && kb > qb) continue;
        if (keep(h, qb, kb)) mask[(h * nBlocks + qb) * nBlocks + kb] = 1;
      }
    }
  }
  return { blockSize, nBlocks, heads, mask };
}

/** Every block (causal: the lower triangle): the same attention as no layout. */
export function denseLayout(base: LayoutBase): BlockLayout {
  return layoutFrom(base, () => true);
}

export interface BigBirdOptions extends LayoutBase {
  /** Each query block sees key blocks qb-localBlocks..qb+localBlocks (BigBird's window of 3 is 1). */
  localBlocks: number;
  /** The first globalBlocks blocks see every block and are seen by every block. */
  globalBlocks: number;
  /** Extra key blocks per query block, drawn without replacement from the rest. */
  randomBlocks: number;
  seed: number;
}

/** BigBird (Zaheer et al. 2020): sliding window of blocks + global blocks + random blocks per row. */
export function bigBirdLayout(o: BigBirdOptions): BlockLayout {
  checkCount('localBlocks', o.localBlocks);
  checkCount('globalBlocks', o.globalBlocks);
  checkCount('randomBlocks', o.randomBlocks);
  const fixed = (qb: number, kb: number): boolean =>
    Math.abs(qb - kb) <= o.localBlocks || qb < o.globalBlocks || kb < o.globalBlocks;
  const base = layoutFrom(o, (_h, qb, kb) => fixed(qb, kb));
  const { nBlocks: nb, heads, mask } = base;
  const rand = mulberry32(o.seed);
  for (let h = 0; h < heads; h++) {
    for (let qb = o.globalBlocks; qb < nb; qb++) {
      const free: number[] = []; // key blocks the fixed pattern leaves empty in this row
      for (let kb = 0; kb < (o.causal ? qb + 1 : nb); kb++) if (!fixed(qb, kb)) free.push(kb);
      for (let n = 0; n < o.randomBlocks && free.length > 0; n++) {
        const at = Math.floor(rand() * free.length);
        mask[(h * nb + qb) * nb + (free[at] as number)] = 1;
        free.splice(at, 1);
      }
    }
  }
  return base;
}

export interface FixedOptions extends LayoutBase {
  /** Blocks per chunk (Sparse Transformer's l / blockSize). */
  strideBlocks: number;
  /** Last blocks of every chunk that every query sees (Sparse Transformer's c / blockSize). */
  summaryBlocks: number;
}

/**
 * Sparse Transformer "fixed" (Child et al. 2019): a query block sees its own chunk of strideBlocks
 * blocks and the last summaryBlocks blocks of every chunk.
 */
export function fixedLayout(o: FixedOptions): BlockLayout {
  checkCount('strideBlocks', o.strideBlocks, 1);
  checkCount('summaryBlocks', o.summaryBlocks);
  const l = o.strideBlocks;
  return layoutFrom(o, (_h, qb, kb) => Math.floor(qb / l) === Math.floor(kb / l) || kb % l >= l - o.summaryBlocks);
}

export interface StridedOptions extends LayoutBase {
  /** Stride in blocks (Sparse Transformer's l / blockSize). */
  strideBlocks: number;
}

/**
 * Sparse Transformer "strided": a query block sees the strideBlocks blocks before it (itself
 * included) and every strideBlocks-th block before that; both directions without causal.
 */
export function stridedLayout(o: StridedOptions): BlockLayout {
  checkCount('strideBlocks', o.strideBlocks, 1);
  const l = o.strideBlocks;
  return layoutFrom(o, (_h, qb, kb) => Math.abs(qb - kb) < l || Math.abs(qb - kb) % l === 0);
}

export interface RandomOptions extends LayoutBase {
  /** Share of the allowed blocks to keep (causal: of the lower triangle), in [0, 1]. */
  density: number;
  seed: number;
}

/**
 * The diagonal plus uniformly drawn blocks, round(density * allowed) in all per head (at least the
 * diagonal), so a query block always sees itself: the layout the benchmarks sweep density with.
 */
export function randomLayout(o: RandomOptions): BlockLayout {
  if (!(o.density >= 0 && o.density <= 1)) throw new RangeError(`randomLayout: density must be in [0, 1], got ${o.density}`);
  const base = layoutFrom(o, (_h, qb, kb) => qb === kb);
  const { nBlocks: nb, heads, mask } = base;
  const rand = mulberry32(o.seed);
  const allowed = o.causal ? (nb * (nb + 1)) / 2 : nb * nb;
  for (let h = 0; h < heads; h++) {
    const off: number[] = []; // allowed off-diagonal blocks as qb * nb + kb
    for (let qb = 0; qb < nb; qb++) {
      for (let kb = 0; kb < (o.causal ? qb : nb); kb++) if (kb !== qb) off.push(qb * nb + kb);
    }
    const want = Math.min(off.length, Math.max(0, Math.round(o.density * allowed) - nb));
    for (let n = 0; n < want; n++) {
      // Partial Fisher-Yates: the first `want` entries become a uniform sample without replacement.
      const at = n + Math.floor(rand() * (off.length - n));
      const pick = off[at] as number;
      off[at] = off[n] as number;
      off[n] = pick;
      mask[h * nb * nb + pick] = 1;
    }
  }
  return base;
}

/** Share of the allowed blocks (causal: lower triangle) that the layout keeps, over all its heads. */
export function layoutDensity(layout: BlockLayout, causal: boolean): number {
  const nb = layout.nBlocks;
  let kept = 0;
  for (let h = 0; h < layout.heads; h++) {
    for (let qb = 0; qb < nb; qb++) {
      for (let kb = 0; kb < (causal ? qb + 1 : nb); kb++) if (layout.mask[(h * nb + qb) * nb + kb]) kept++;
    }
  }
  const allowed = (causal ? (nb * (nb + 1)) / 2 : nb * nb) * layout.heads;
  return allowed === 0 ? 0 : kept / allowed;
}

/**
 * The layout of query heads h0..h0+count: what a rank holding those heads (Ulysses after the
 * all-to-all) passes to its attention. A shared layout (heads = 1) is returned as is.
 */
export function sliceLayoutHeads(layout: BlockLayout, h0: number, count: number): BlockLayout {
  if (layout.heads === 1) return layout;
  if (!Number.isInteger(h0) || !Number.isInteger(count) || h0 < 0 || count < 1 || h0 + count > layout.heads) {
    throw new RangeError(`sliceLayoutHeads: heads ${h0}..${h0 + count - 1} are outside 0..${layout.heads - 1}`);
  }
  const per = layout.nBlocks * layout.nBlocks;
  return { ...layout, heads: count, mask: layout.mask.slice(h0 * per, (h0 + count) * per) };
}

function checkCount(name: string, x: number, min = 0): void {
  if (!Number.isInteger(x) || x < min) throw new RangeError(`block layout: ${name} must be an integer >= ${min}, got ${x}`);
}

/** Seeded uniform [0, 1) generator (mulberry32), so a layout is reproducible from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
