// Table lookups: token embeddings (and GPT-2's learned positions) read rows of a table.
//
// Shape legend: N = rows (B*T tokens), C = channels, R = table rows (vocabulary or max positions).

/** out[N,C] = table[R,C][ids[n]], plus what out already holds when accumulate is true. */
export function embedding_forward(
  out: Float32Array, ids: Int32Array, table: Float32Array, N: number, C: number, accumulate: boolean,
): void {
  for (let n = 0; n < N; n++) {
    const src = (ids[n] as number) * C;
    const dst = n * C;
    if (!accumulate) {
      out.set(table.subarray(src, src + C), dst);
      continue;
    }
    for (let c = 0; c < C; c++) out[dst + c] = (out[dst + c] as number) + (table[src + c] as number);
  }
}

/** Adds dout[N,C] into dtable[R,C] at rows ids[n]. */
export function embedding_backward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const dst = (ids[n] as number) * C;
    const src = n * C;
    for (let c = 0; c < C; c++) dtable[dst + c] = (dtable[dst + c] as number) + (dout[src + c] as number);
  }
}
