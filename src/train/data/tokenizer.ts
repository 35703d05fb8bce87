// The byte-level tokenizer: a token is one UTF-8 byte (vocabulary 256), so any text round-trips
// exactly and no vocabulary file is needed. Documents are joined by a dedicated separator byte
// (NUL, which never occurs in text), so document boundaries stay recoverable for masks.

export const BYTE_VOCAB_SIZE = 256;

/** Token placed between documents; text is stripped of it so it stays unambiguous. */
export const DOC_SEPARATOR = 0;

export function encodeText(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  return bytes.includes(DOC_SEPARATOR) ? bytes.filter((b) => b !== DOC_SEPARATOR) : bytes;
}

/**
 * Decodes byte tokens to text; a byte sequence cut in the middle of a character (as sampling
 * can produce) becomes U+FFFD. Separators become `separatorText`.
 */
export function decodeTokens(tokens: ArrayLike<number>, separatorText = '\n\n'): string {
  const parts: string[] = [];
  const decoder = new TextDecoder('utf-8');
  let start = 0;
  const bytes = new Uint8Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as number;
    if (!(t >= 0 && t < BYTE_VOCAB_SIZE)) throw new RangeError(`decodeTokens: token ${t} at ${i} is not a byte`);
    bytes[i] = t;
  }
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === DOC_SEPARATOR) {
      parts.push(decoder.decode(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  return parts.join(separatorText);
}
