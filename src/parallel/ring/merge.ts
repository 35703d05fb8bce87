// Log-sum-exp merging of partial attention outputs: attention over a union of key blocks equals
// the blocks' outputs weighted by exp(lse_block − lse_union), so a ring member can fold in one
// key/value block at a time and keep only a running output and log-sum-exp per query row.
//
// Shape legend: B = batch, c = query tokens, H = query heads, D = head size.

/**
 * Folds a block's out_b[B,c,H,D] (normalised over the block) and lse_b[B,H,c] into the running
 * acc[B,c,H,D] and lseAcc[B,H,c] (kept in fp64, so merge order does not change the result in
 * fp32). A row that saw no key of the block has lse_b = −Infinity and is left as it was.
 */
export function mergeBlock(
  acc: Float64Array, lseAcc: Float64Array, outB: Float32Array, lseB: Float32Array,
  B: number, c: number, H: number, D: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < c; i++) {
        const li = (b * H + h) * c + i; // lse row
        const l2 = lseB[li] as number;
        if (l2 === -Infinity) continue;
        const l1 = lseAcc[li] as number;
        const m = Math.max(l1, l2);
        const l = m + Math.log(Math.exp(l1 - m) + Math.exp(l2 - m));
        const w1 = Math.exp(l1 - l);
        const w2 = Math.exp(l2 - l);
        lseAcc[li] = l;
        const o = ((b * c + i) * H + h) * D; // out row [D]
        for (let d = 0; d < D; d++) acc[o + d] = w1 * (acc[o + d] as number) + w2 * (outB[o + d] as number);
      }
    }
  }
}

/** acc += x, elementwise over acc's length. */
export function addInto(acc: Float32Array | Float64Array, x: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (x[i] as number);
}
