// The memory toolkit of a model, all exact and all optional: per-layer activation checkpointing,
// the sequence-tiled MLP, tiled logits with the loss and the head's backward fused into forward,
// and bf16 storage of the activations kept for backward.
//
// Shape legend: N = B*T tokens, F = MLP width, V = vocabulary, R = rows of one tile.

/** A tile size in tokens: 0 = off (whole sequence at once), 'auto' = rows of about AUTO_TILE_BYTES. */
export type TileSetting = number | 'auto';

export interface MemoryOptions {
  /** Keep only each block's input and recompute the block's forward in backward. */
  checkpoint: boolean;
  /** Tokens per tile of the MLP: the [N, F] activations exist one [R, F] tile at a time. */
  mlpTile: TileSetting;
  /** Tokens per tile of logits + loss: the [N, V] logits exist one [R, V] tile at a time. */
  logitsTile: TileSetting;
  /** Store the activations kept for backward as bf16 (compute and weights stay fp32). */
  bf16Activations: boolean;
}

export const PLAIN_MEMORY: MemoryOptions = { checkpoint: false, mlpTile: 0, logitsTile: 0, bf16Activations: false };

/** 'auto' tiles hold about this many bytes per [R, width] fp32 buffer: large enough for efficient GEMMs. */
export const AUTO_TILE_BYTES = 4 << 20;

/** Rows per tile for a setting over N rows of `width` floats: 0 = not tiled, else 1..N. */
export function tileRows(setting: TileSetting, N: number, width: number): number {
  if (setting === 0) return 0;
  const rows = setting === 'auto' ? Math.max(16, Math.floor(AUTO_TILE_BYTES / (4 * width))) : setting;
  return Math.max(1, Math.min(rows, N));
}

/** Throws on a tile setting that is not 0, a positive integer or 'auto'. */
export function checkMemoryOptions(m: MemoryOptions): void {
  for (const [name, t] of [['mlpTile', m.mlpTile], ['logitsTile', m.logitsTile]] as const) {
    if (t !== 'auto' && !(Number.isInteger(t) && t >= 0)) {
      throw new Error(`memory options: ${name} is ${String(t)}; allowed: 0 (off), a positive integer of tokens, or "auto"`);
    }
  }
}
