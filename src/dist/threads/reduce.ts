// Element-wise reduction of several members' chunks into one fp32 accumulator, in member order, so
// every backend run gives the same bits. bf16 chunks are widened to fp32 first and rounded once.
import type { Payload, ReduceOp } from '../communicator.js';
import { bf16ArrayToF32, f32ArrayToBf16 } from '../../tensor/bf16.js';
import { copyPayload } from './copy.js';

/** acc = acc (op) src, element-wise; max propagates NaN. */
function combine(acc: Float32Array, src: Float32Array, op: ReduceOp): void {
  const n = acc.length;
  if (op === 'sum') {
    for (let i = 0; i < n; i++) acc[i] = (acc[i] as number) + (src[i] as number);
  } else {
    for (let i = 0; i < n; i++) {
      const v = src[i] as number;
      if (v > (acc[i] as number) || v !== v) acc[i] = v;
    }
  }
}

/** Reusable fp32 scratch space for bf16 reductions. */
export class ReduceScratch {
  #acc = new Float32Array(0);
  #tmp = new Float32Array(0);

  buffers(n: number): { acc: Float32Array; tmp: Float32Array } {
    if (this.#acc.length < n) {
      this.#acc = new Float32Array(n);
      this.#tmp = new Float32Array(n);
    }
    return { acc: this.#acc.subarray(0, n), tmp: this.#tmp.subarray(0, n) };
  }
}

/**
 * out = sources[0] (op) sources[1] (op) ... in order. All arrays have out's type and length; out
 * may not alias a source. fp32 accumulates in out itself; bf16 in fp32 scratch, rounded once.
 */
export function reduceChunks(out: Payload, sources: readonly Payload[], op: ReduceOp, scratch: ReduceScratch): void {
  const n = out.length;
  if (out instanceof Float32Array) {
    sources.forEach((src, j) => {
      if (j === 0) copyPayload(out, src);
      else combine(out, src as Float32Array, op);
    });
    return;
  }
  const { acc, tmp } = scratch.buffers(n);
  sources.forEach((src, j) => {
    if (j === 0) bf16ArrayToF32(acc, src as Uint16Array);
    else {
      bf16ArrayToF32(tmp, src as Uint16Array);
      combine(acc, tmp, op);
    }
  });
  f32ArrayToBf16(out, acc);
}
