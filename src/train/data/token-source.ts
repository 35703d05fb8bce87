// Where training tokens come from: a prepared token file read at random offsets, or tokens held
// in memory (a text corpus tokenized at startup). The sampler only sees this interface.

export interface TokenSource {
  /** Total tokens. */
  readonly length: number;
  readonly vocabSize: number;
  /** Documents joined into the stream. */
  readonly documents: number;
  /** For messages: what the tokens were read from. */
  readonly description: string;
  /** Copies tokens [start, start + out.length) into out. */
  read(start: number, out: Int32Array): void;
  close(): void;
}

export class MemoryTokenSource implements TokenSource {
  constructor(
    readonly tokens: Uint8Array | Uint16Array,
    readonly vocabSize: number,
    readonly documents: number,
    readonly description: string,
  ) {}

  get length(): number {
    return this.tokens.length;
  }

  read(start: number, out: Int32Array): void {
    if (start < 0 || start + out.length > this.tokens.length) {
      throw new RangeError(`${this.description}: read [${start}, ${start + out.length}) outside [0, ${this.tokens.length})`);
    }
    for (let i = 0; i < out.length; i++) out[i] = this.tokens[start + i] as number;
  }

  close(): void {}
}
