// The `attention` config section: which attention every layer runs (fused flash, the dense
// reference, sliding window, block-sparse presets), the checks that refuse keys a kind does not
// use, and the model options (window, block layout builder) and kernels it turns into.
import { bigBirdLayout, fixedLayout, stridedLayout } from '../attention/block-sparse-layouts.js';
import type { BlockLayout } from '../kernels/kernels.js';
import type { ModelAttentionOptions } from '../nn/attention-mask.js';
import type { ModelConfig } from '../nn/model-config.js';
import { ConfigError } from './errors.js';

export type AttentionKind = 'flash' | 'dense' | 'sliding_window' | 'block_sparse';
export type LayoutPreset = 'bigbird' | 'fixed' | 'strided';

export interface AttentionConfig {
  kind: AttentionKind;
  window: number | null;
  block_size: number | null;
  layout: LayoutPreset | null;
  per_head: boolean | null;
  seed: number | null;
  local_blocks: number | null;
  global_blocks: number | null;
  random_blocks: number | null;
  stride_blocks: number | null;
  summary_blocks: number | null;
}

type ParamKey = Exclude<keyof AttentionConfig, 'kind'>;

export function defaultAttentionConfig(): AttentionConfig {
  return {
    kind: 'flash', window: null, block_size: null, layout: null, per_head: null, seed: null,
    local_blocks: null, global_blocks: null, random_blocks: null, stride_blocks: null, summary_blocks: null,
  };
}

/** The keys each kind reads; any other key set to a value is refused. */
const KIND_KEYS: Record<AttentionKind, readonly ParamKey[]> = {
  flash: [],
  dense: [],
  sliding_window: ['window'],
  block_sparse: ['block_size', 'layout', 'per_head', 'seed', 'local_blocks', 'global_blocks', 'random_blocks', 'stride_blocks', 'summary_blocks'],
};

/** The preset keys each block-sparse layout reads. */
const LAYOUT_KEYS: Record<LayoutPreset, readonly ParamKey[]> = {
  bigbird: ['seed', 'local_blocks', 'global_blocks', 'random_blocks'],
  fixed: ['stride_blocks', 'summary_blocks'],
  strided: ['stride_blocks'],
};

const PRESET_KEYS: readonly ParamKey[] = ['seed', 'local_blocks', 'global_blocks', 'random_blocks', 'stride_blocks', 'summary_blocks'];

/** Refuses keys that do not belong to the chosen kind (or layout) and missing required ones, naming the key. */
export function checkAttentionConfig(a: AttentionConfig): void {
  const fail = (msg: string): never => {
    throw new ConfigError(msg);
  };
  const own = KIND_KEYS[a.kind];
  for (const key of [...KIND_KEYS.sliding_window, ...KIND_KEYS.block_sparse]) {
    if (a[key] !== null && !own.includes(key)) {
      const owner = key === 'window' ? 'sliding_window' : 'block_sparse';
      fail(`attention.${key} is set (${JSON.stringify(a[key])}) but attention.kind is "${a.kind}"; it belongs to attention.kind "${owner}": remove it or set it to null`);
    }
  }
  if (a.kind === 'sliding_window' && a.window === null) fail('attention.kind "sliding_window" needs attention.window (tokens each query sees, an integer >= 1)');
  if (a.kind !== 'block_sparse') return;
  if (a.block_size === null) fail('attention.kind "block_sparse" needs attention.block_size (tokens per block, an integer >= 1)');
  if (a.layout === null) fail('attention.kind "block_sparse" needs attention.layout ("bigbird", "fixed" or "strided")');
  const layout = a.layout as LayoutPreset;
  for (const key of PRESET_KEYS) {
    if (a[key] !== null && !LAYOUT_KEYS[layout].includes(key)) {
      fail(`attention.${key} is set (${JSON.stringify(a[key])}) but attention.layout "${layout}" does not use it; it takes ${LAYOUT_KEYS[layout].map((k) => `attention.${k}`).join(', ')}`);
    }
  }
}

/** The layout builder of a block_sparse config: the whole sequence of T tokens, heads 1 or n_heads. */
export function layoutBuilder(a: AttentionConfig, nHeads: number, configSeed: number): (T: number) => BlockLayout {
  const blockSize = a.block_size ?? 1;
  const heads = a.per_head === true ? nHeads : 1;
  const stride = a.stride_blocks ?? 4;
  switch (a.layout) {
    case 'bigbird':
      return (T) => bigBirdLayout({
        T, blockSize, heads, causal: true, localBlocks: a.local_blocks ?? 1, globalBlocks: a.global_blocks ?? 1,
        randomBlocks: a.random_blocks ?? 1, seed: a.seed ?? configSeed,
      });
    case 'fixed':
      return (T) => fixedLayout({ T, blockSize, heads, causal: true, strideBlocks: stride, summaryBlocks: a.summary_blocks ?? 1 });
    case 'strided':
      return (T) => stridedLayout({ T, blockSize, heads, causal: true, strideBlocks: stride });
    case null:
      throw new ConfigError('attention.kind "block_sparse" needs attention.layout');
  }
}

/**
 * The model's attention options: the window, or the layout built for data.seq_len (`sharded`: the
 * model sees sequence shards, so every forward uses the full-length layout).
 */
export function modelAttentionOptions(a: AttentionConfig, mc: ModelConfig, seqLen: number, configSeed: number, sharded: boolean): ModelAttentionOptions {
  if (a.kind === 'sliding_window') return { window: a.window ?? 1 };
  if (a.kind === 'block_sparse') return { blockLayout: { seqLen, build: layoutBuilder(a, mc.n_heads, configSeed), sharded } };
  return {};
}

/** Whether the attention core runs on the TypeScript reference kernels (dense score rows) instead of the run's kernels. */
export function usesDenseReference(a: AttentionConfig): boolean {
  return a.kind === 'dense';
}
