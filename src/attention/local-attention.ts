// Attention on one worker: the whole sequence for all the heads it holds, through the
// attention kernels of a Kernels object (reference or native, fused and O(T) memory).
//
// Shape legend: B = batch, T = tokens, H = query heads, Hkv = key/value heads, D = head size.
import type { AttentionMaskSpec, AttentionShape, Kernels } from '../kernels/kernels.js';
import type { AttentionCore, AttentionSaved } from './attention-core.js';

/** What LocalAttention keeps for backward: the inputs, the output and the row log-sum-exp. */
interface LocalSaved extends AttentionSaved {
  readonly owner: LocalAttention;
  readonly mask: AttentionMaskSpec;
  readonly q: Float32Array; // [B,T,H,D]
  readonly k: Float32Array; // [B,T,Hkv,D]
  readonly v: Float32Array; // [B,T,Hkv,D]
  readonly out: Float32Array; // [B,T,H,D]
  readonly lse: Float32Array; // [B,H,T]
}

export class LocalAttention implements AttentionCore {
  constructor(private readonly kernels: Kernels) {}

  forward(
    out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    shape: AttentionShape, mask: AttentionMaskSpec,
  ): AttentionSaved {
    const { B, T, H, Hkv, D } = shape;
    checkLength('q', q, B * T * H * D);
    checkLength('out', out, B * T * H * D);
    checkLength('k', k, B * T * Hkv * D);
    checkLength('v', v, B * T * Hkv * D);
    const lse = new Float32Array(B * H * T); // [B,H,T]
    this.kernels.attention_forward(out, lse, q, k, v, shape, mask, 1 / Math.sqrt(D));
    // Copy the shape and mask so a caller mutating its own objects cannot change backward.
    const saved: LocalSaved = { owner: this, shape: { ...shape }, mask: { ...mask }, q, k, v, out, lse };
    return saved;
  }

  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, saved: AttentionSaved): void {
    const s = saved as Partial<LocalSaved>;
    if (s.owner !== this) throw new Error('LocalAttention.backward: saved state comes from another attention core');
    const { q, k, v, out, lse, mask } = s as LocalSaved;
    const shape = saved.shape;
    const { B, T, H, Hkv, D } = shape;
    checkLength('dq', dq, B * T * H * D);
    checkLength('dout', dout, B * T * H * D);
    checkLength('dk', dk, B * T * Hkv * D);
    checkLength('dv', dv, B * T * Hkv * D);
    this.kernels.attention_backward(dq, dk, dv, dout, q, k, v, out, lse, shape, mask, 1 / Math.sqrt(D));
  }
}

function checkLength(name: string, a: Float32Array, need: number): void {
  if (a.length < need) {
    throw new RangeError(`LocalAttention: ${name} has ${a.length} elements, the shape needs ${need}`);
  }
}
