// The attention mask a model hands its attention core: causal, the batch's document ids, and the
// optional sliding window and block-sparse layout a run configures. A layout covers the whole
// sequence, so it is built once for the training length and rebuilt for any other length a
// one-worker forward sees (sampling); a sequence-sharded model always passes the full-length one.
import type { AttentionMaskSpec, BlockLayout } from '../kernels/kernels.js';

/** A block-sparse layout source: the builder is deterministic, so every rebuild for a length is identical. */
export interface BlockLayoutOption {
  /** Full sequence length of training batches; the layout for it is built at construction. */
  seqLen: number;
  /** The layout for a whole sequence of T tokens. */
  build: (T: number) => BlockLayout;
  /**
   * The model sees sequence shards (its attention core is sequence-parallel): every forward uses the
   * seqLen layout, and the core checks that its gathered sequence is that long.
   */
  sharded?: boolean;
}

export interface ModelAttentionOptions {
  /** Sliding window in tokens (absent = unlimited). */
  window?: number;
  blockLayout?: BlockLayoutOption;
}

export class ModelAttentionMask {
  private readonly layouts = new Map<number, BlockLayout>();

  constructor(private readonly opts: ModelAttentionOptions = {}) {
    const w = opts.window;
    if (w !== undefined && !(Number.isInteger(w) && w >= 1)) throw new RangeError(`attention window must be an integer >= 1, got ${w}`);
    const bl = opts.blockLayout;
    if (bl) this.layouts.set(bl.seqLen, bl.build(bl.seqLen));
  }

  /** The mask for a forward over batches of T tokens per row (this rank's T when sharded). */
  spec(T: number, docIds: Int32Array | null): AttentionMaskSpec {
    const mask: AttentionMaskSpec = { causal: true, docIds };
    if (this.opts.window !== undefined) mask.window = this.opts.window;
    const bl = this.opts.blockLayout;
    if (bl) mask.blockLayout = this.layoutFor(bl.sharded ? bl.seqLen : T, bl);
    return mask;
  }

  private layoutFor(T: number, bl: BlockLayoutOption): BlockLayout {
    let layout = this.layouts.get(T);
    if (!layout) {
      layout = bl.build(T);
      // Sampling grows T one token at a time: keep the training layout and the latest other one.
      for (const key of this.layouts.keys()) if (key !== bl.seqLen) this.layouts.delete(key);
      this.layouts.set(T, layout);
    }
    return layout;
  }
}
