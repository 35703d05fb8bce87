// Bytes one rank sends per transformer layer in a layout's sequence-parallel exchange, split into
// all-to-all (or Megatron-SP's ring collectives) and ring-attention hops, from the engine's own
// formulas. Rank 0 is the rank asked about: it holds the most tokens and heads under uneven splits.
import type { ModelConfig } from '../nn/model-config.js';
import { megatronSpLayerBytes } from '../parallel/megatron-sp/volume.js';
import { hybridAttentionBytes, ringAttentionBytes } from '../parallel/ring/volume.js';
import { makeUlyssesPlan } from '../parallel/ulysses/plan.js';
import { ulyssesAttentionBytes } from '../parallel/ulysses/volume.js';
import type { Layout } from './layouts.js';

export interface LayerBytes {
  /** Ulysses all-to-alls, or Megatron-SP's all-gathers and reduce-scatters: forward, backward. */
  readonly collective: { readonly forward: number; readonly backward: number };
  /** Ring attention's k,v (and dk,dv) hops: forward, backward. */
  readonly ring: { readonly forward: number; readonly backward: number };
}

const NONE = { forward: 0, backward: 0 };

/** Bytes rank 0 sends in one layer of B sequences of N tokens, bpe bytes per element. */
export function sequenceLayerBytes(c: ModelConfig, B: number, N: number, l: Layout, bpe: number): LayerBytes {
  const H = c.n_heads;
  const Hkv = c.n_kv_heads;
  const D = c.d_model / H;
  switch (l.strategy) {
    case 'dp-only':
      return { collective: NONE, ring: NONE };
    case 'ulysses': {
      const v = ulyssesAttentionBytes(makeUlyssesPlan(l.sp, N, H, Hkv), 0, B, D, false, bpe);
      return { collective: { forward: v.forward.sent, backward: v.backward.sent }, ring: NONE };
    }
    case 'megatron-sp': {
      const v = megatronSpLayerBytes(B, N, l.sp, c.d_model, bpe);
      return { collective: { forward: v.forward.sent, backward: v.backward.sent }, ring: NONE };
    }
    case 'ring': {
      const v = ringAttentionBytes(B, N, l.ring, H, Hkv, D, bpe);
      return { collective: NONE, ring: { forward: v.forward.sent, backward: v.backward.sent } };
    }
    case 'hybrid': {
      // The hybrid formula's total, less its Ulysses part over the N/R tokens of a ring member.
      const total = hybridAttentionBytes(B, N, l.ulysses, l.ring, H, Hkv, D, bpe);
      const a2a = ulyssesAttentionBytes(makeUlyssesPlan(l.ulysses, N / l.ring, H, Hkv), 0, B, D, false, bpe);
      return {
        collective: { forward: a2a.forward.sent, backward: a2a.backward.sent },
        ring: { forward: total.forward.sent - a2a.forward.sent, backward: total.backward.sent - a2a.backward.sent },
      };
    }
  }
}
