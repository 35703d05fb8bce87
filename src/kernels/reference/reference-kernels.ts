// The Kernels interface in plain TypeScript: the readable definition every native kernel is
// tested against, and a fallback that needs no compiler.
import type { Kernels } from '../kernels.js';
import { sgemm } from './gemm.js';
import { sbgemm } from './sbgemm.js';
import { layernorm_backward, layernorm_forward, rmsnorm_backward, rmsnorm_forward } from './norms.js';
import { gelu_backward, gelu_forward, swiglu_backward, swiglu_forward } from './activations.js';
import { crossentropy_backward, crossentropy_forward } from './crossentropy.js';
import { adamw_update } from './adamw.js';
import { rope_backward, rope_forward } from './rope.js';
import { attention_backward, attention_forward } from './attention.js';

export function createReferenceKernels(): Kernels {
  return {
    name: 'reference',
    sgemm,
    sbgemm,
    layernorm_forward,
    layernorm_backward,
    rmsnorm_forward,
    rmsnorm_backward,
    gelu_forward,
    gelu_backward,
    swiglu_forward,
    swiglu_backward,
    crossentropy_forward,
    crossentropy_backward,
    adamw_update,
    rope_forward,
    rope_backward,
    attention_forward,
    attention_backward,
  };
}
