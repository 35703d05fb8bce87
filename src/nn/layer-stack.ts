// The transformer blocks of a model run in sequence, with what each keeps for backward chosen by
// the memory options:
// - plain: every layer has its own fp32 activation set and every block input stays;
// - checkpointing: one shared activation set; a layer keeps only its input and its forward is
//   recomputed in backward (the attention core's forward too, so a distributed core replays its
//   all-to-alls, in the same layer order on every rank);
// - bf16 storage: the kept arrays (block inputs, and without checkpointing the large saved
//   activations) are bf16 copies, widened into the shared fp32 set before use.
// Parameters come through the provider, block i being unit i + 1; a recompute happens inside the
// block's backward acquisition, so a ZeRO-3 provider has the layer gathered for it anyway.
//
// Shape legend: N = B*T tokens, C = d_model, L = layers.
import type { AttentionSaved } from '../attention/attention-core.js';
import { bf16ArrayToF32, f32ArrayToBf16 } from '../tensor/bf16.js';
import { allocBf16Stash, bf16_stash_load, bf16_stash_store, bf16StashBytes, type Bf16Stash, type SavedArrays } from './bf16-stash.js';
import type { ParamProvider, ParamViews } from './param-provider.js';

/** The part of a block's activation set the stack handles itself. */
export interface StackedActs {
  saved: AttentionSaved | null;
  resOut: Float32Array; // [N, C] block output
}

/** What a block type tells the stack; a block's activation set A is what its backward reads. */
export interface BlockKind<A extends StackedActs> {
  allocActs(): A;
  /** The arrays of a that backward reads (resOut excluded). */
  savedArrays(a: A): SavedArrays;
  /** a.resOut[N,C] = block i(inp[N,C]), keeping activations in a. */
  forward(i: number, w: ParamViews, a: A, inp: Float32Array): void;
  /** Fills a as forward would, except resOut (what backward reads, nothing more). */
  recompute(i: number, w: ParamViews, a: A, inp: Float32Array): void;
  /** dres[N,C]: d(output) in, d(input) out; adds into w's gradients. */
  backward(i: number, w: ParamViews, a: A, dres: Float32Array, inp: Float32Array): void;
}

export interface LayerStackOptions {
  checkpoint: boolean;
  bf16: boolean;
}

export interface LayerStackActs<A> {
  L: number;
  checkpoint: boolean;
  bf16: boolean;
  /**
   * fp32 block inputs: [1] x [N, C] (x0) in plain mode and under bf16 storage (there it is the
   * current input, refilled per layer), [L] x [N, C] under fp32 checkpointing.
   */
  xs: Float32Array[];
  inputs16: Uint16Array[]; // [L] x [N, C] block inputs in bf16 (bf16 storage only)
  acts: A[]; // [L] activation sets (plain), or one shared set
  stash: Bf16Stash[]; // [L] bf16 saved activations (bf16 storage without checkpointing)
}

export function allocLayerStack<A extends StackedActs>(
  kind: Pick<BlockKind<A>, 'allocActs' | 'savedArrays'>, L: number, N: number, C: number, o: LayerStackOptions,
): LayerStackActs<A> {
  const shared = o.checkpoint || o.bf16;
  const acts = Array.from({ length: shared ? 1 : L }, () => kind.allocActs());
  const like = kind.savedArrays(acts[0] ?? kind.allocActs());
  return {
    L, checkpoint: o.checkpoint, bf16: o.bf16,
    xs: Array.from({ length: o.checkpoint && !o.bf16 ? Math.max(L, 1) : 1 }, () => new Float32Array(N * C)),
    inputs16: Array.from({ length: o.bf16 ? L : 0 }, () => new Uint16Array(N * C)),
    acts,
    stash: Array.from({ length: o.bf16 && !o.checkpoint ? L : 0 }, () => allocBf16Stash(like)),
  };
}

/** Bytes allocLayerStack takes, given the bytes of one activation set and the floats savedArrays lists. */
export function layerStackBytes(
  L: number, N: number, C: number, o: LayerStackOptions, actsBytes: number, saved: { big: number; small: number },
): number {
  const shared = o.checkpoint || o.bf16;
  const xs = 4 * N * C * (o.checkpoint && !o.bf16 ? Math.max(L, 1) : 1) + (o.bf16 ? 2 * N * C * L : 0);
  const stash = o.bf16 && !o.checkpoint ? L * bf16StashBytes(saved.big, saved.small) : 0;
  return xs + actsBytes * (shared ? 1 : L) + stash;
}

/** The buffer the embedding writes the block-0 input into. */
export function stackInput<A>(s: LayerStackActs<A>): Float32Array {
  return s.xs[0] as Float32Array;
}

/** The last block's output [N, C] (valid from forward until the first block backward). */
export function stackOutput<A extends StackedActs>(s: LayerStackActs<A>): Float32Array {
  if (s.L === 0) return s.xs[0] as Float32Array;
  return ((s.acts[s.L - 1] ?? s.acts[0]) as A).resOut;
}

/** Block i's fp32 input for forward: x0, the previous block's output, or a kept copy of it. */
function forwardInput<A extends StackedActs>(s: LayerStackActs<A>, i: number): Float32Array {
  if (i === 0) return s.xs[0] as Float32Array;
  if (s.bf16 || s.checkpoint) {
    const x = s.xs[s.bf16 ? 0 : i] as Float32Array;
    x.set((s.acts[0] as A).resOut);
    return x;
  }
  return (s.acts[i - 1] as A).resOut;
}

export function layer_stack_forward<A extends StackedActs>(kind: BlockKind<A>, s: LayerStackActs<A>, pv: ParamProvider): void {
  const L = s.L;
  for (let i = 0; i < L; i++) {
    const inp = forwardInput(s, i); // [N, C]
    const a = (s.acts[i] ?? s.acts[0]) as A;
    if (s.bf16) f32ArrayToBf16(s.inputs16[i] as Uint16Array, inp);
    const w = pv.acquire(i + 1, 'forward', i + 1 < L ? i + 2 : 0);
    kind.forward(i, w, a, inp);
    pv.release(i + 1, 'forward');
    const stash = s.stash[i];
    if (stash) bf16_stash_store(stash, kind.savedArrays(a), a.saved);
    // A checkpointed layer drops the core's saved state too: backward recomputes it.
    if (s.checkpoint || stash) a.saved = null;
  }
}

/** dres[N,C]: d(last block output) in, d(first block input) out. */
export function layer_stack_backward<A extends StackedActs>(
  kind: BlockKind<A>, s: LayerStackActs<A>, pv: ParamProvider, dres: Float32Array,
): void {
  for (let i = s.L - 1; i >= 0; i--) {
    const a = (s.acts[i] ?? s.acts[0]) as A;
    let inp: Float32Array; // [N, C]
    if (s.bf16) {
      inp = s.xs[0] as Float32Array;
      bf16ArrayToF32(inp, s.inputs16[i] as Uint16Array);
    } else if (s.checkpoint || i === 0) {
      inp = s.xs[i] as Float32Array;
    } else {
      inp = (s.acts[i - 1] as A).resOut;
    }
    const w = pv.acquire(i + 1, 'backward', i > 0 ? i : 0);
    const stash = s.stash[i];
    if (s.checkpoint) kind.recompute(i, w, a, inp);
    else if (stash) a.saved = bf16_stash_load(stash, kind.savedArrays(a));
    kind.backward(i, w, a, dres, inp);
    pv.release(i + 1, 'backward');
    // Let the core's saved state of this layer go as soon as its backward is done.
    if (s.checkpoint || stash) a.saved = null;
    if (stash) stash.saved = null;
  }
}
