// How much memory a model's buffers take: the bytes of every typed array in a structure of
// activations, each array counted once, for the trainer's memory accounting.

/** Sum of the bytes of every typed array reachable from obj (each array once), skipping keys in skip. */
export function typedArrayBytes(obj: unknown, skip: ReadonlySet<string> = new Set(), seen = new Set<ArrayBufferView>()): number {
  if (ArrayBuffer.isView(obj)) {
    if (seen.has(obj)) return 0;
    seen.add(obj);
    return obj.byteLength;
  }
  if (typeof obj !== 'object' || obj === null) return 0;
  let total = 0;
  for (const [key, value] of Object.entries(obj)) if (!skip.has(key)) total += typedArrayBytes(value, skip, seen);
  return total;
}
