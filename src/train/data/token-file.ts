// The prepared token file (`ulysses prepare`): a 64-byte header, then the tokens as uint8
// (vocabulary <= 256) or little-endian uint16. Training reads windows at random offsets with
// fs.readSync, never the whole file, so corpora larger than memory work.
//
// Header (little-endian): 0 magic "ULYSTOKS" | 8 u32 version | 12 u32 vocab size |
// 16 u32 bytes per token | 20 u32 reserved | 24 u64 token count | 32 u64 document count | 40..64 zero.
import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { DataError } from '../errors.js';
import type { TokenSource } from './token-source.js';

export const TOKEN_FILE_MAGIC = 'ULYSTOKS';
export const TOKEN_FILE_VERSION = 1;
export const TOKEN_FILE_HEADER_BYTES = 64;

export interface TokenFileHeader {
  version: number;
  vocabSize: number;
  bytesPerToken: 1 | 2;
  tokenCount: number;
  documentCount: number;
}

function bytesPerTokenFor(vocabSize: number): 1 | 2 {
  if (vocabSize <= 256) return 1;
  if (vocabSize <= 65536) return 2;
  throw new RangeError(`token file: vocabulary ${vocabSize} does not fit uint16`);
}

function encodeHeader(h: TokenFileHeader): Buffer {
  const b = Buffer.alloc(TOKEN_FILE_HEADER_BYTES);
  b.write(TOKEN_FILE_MAGIC, 0, 'latin1');
  b.writeUInt32LE(h.version, 8);
  b.writeUInt32LE(h.vocabSize, 12);
  b.writeUInt32LE(h.bytesPerToken, 16);
  b.writeBigUInt64LE(BigInt(h.tokenCount), 24);
  b.writeBigUInt64LE(BigInt(h.documentCount), 32);
  return b;
}

/** True when the file starts with the token-file magic (so a text file is never mistaken for one). */
export function hasTokenFileMagic(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(8);
    return readSync(fd, b, 0, 8, 0) === 8 && b.toString('latin1') === TOKEN_FILE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** Streams tokens into a temporary file; finish() writes the header and renames it into place. */
export class TokenFileWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private readonly width: 1 | 2;
  private tokens = 0;
  private documents = 0;
  private position = TOKEN_FILE_HEADER_BYTES;

  constructor(
    private readonly path: string,
    private readonly vocabSize: number,
  ) {
    this.width = bytesPerTokenFor(vocabSize);
    this.tmp = `${path}.tmp-${process.pid}`;
    this.fd = openSync(this.tmp, 'w');
  }

  /** Appends one document's tokens (all < vocabSize). */
  appendDocument(tokens: ArrayLike<number>): void {
    this.append(tokens);
    this.documents++;
  }

  /** Appends tokens without counting a document (for streaming one document in chunks). */
  append(tokens: ArrayLike<number>): void {
    const buf = Buffer.alloc(tokens.length * this.width);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as number;
      if (!(t >= 0 && t < this.vocabSize && Number.isInteger(t))) {
        throw new RangeError(`token file: token ${t} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      if (this.width === 1) buf[i] = t;
      else buf.writeUInt16LE(t, 2 * i);
    }
    this.position += writeSync(this.fd, buf, 0, buf.length, this.position);
    this.tokens += tokens.length;
  }

  /** Counts a document whose tokens were added with append(). */
  endDocument(): void {
    this.documents++;
  }

  finish(): TokenFileHeader {
    const header: TokenFileHeader = {
      version: TOKEN_FILE_VERSION,
      vocabSize: this.vocabSize,
      bytesPerToken: this.width,
      tokenCount: this.tokens,
      documentCount: this.documents,
    };
    writeSync(this.fd, encodeHeader(header), 0, TOKEN_FILE_HEADER_BYTES, 0);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
    return header;
  }

  /** Removes the temporary file after a failure. */
  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // Already closed by a failed finish().
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // Nothing was written.
    }
  }
}

/** A token file opened for random access reads. */
export class TokenFile implements TokenSource {
  readonly header: TokenFileHeader;
  private fd: number;
  private scratch = Buffer.alloc(0);

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.header = readHeader(this.fd, path);
    } catch (err: unknown) {
      closeSync(this.fd);
      throw err;
    }
  }

  get length(): number {
    return this.header.tokenCount;
  }
  get vocabSize(): number {
    return this.header.vocabSize;
  }
  get documents(): number {
    return this.header.documentCount;
  }
  get description(): string {
    return `token file ${this.path}`;
  }

  read(start: number, out: Int32Array): void {
    const n = out.length;
    if (start < 0 || start + n > this.length) {
      throw new RangeError(`token file ${this.path}: read [${start}, ${start + n}) outside [0, ${this.length})`);
    }
    const w = this.header.bytesPerToken;
    if (this.scratch.length < n * w) this.scratch = Buffer.alloc(n * w);
    const got = readSync(this.fd, this.scratch, 0, n * w, TOKEN_FILE_HEADER_BYTES + start * w);
    if (got !== n * w) throw new DataError(`token file ${this.path} is truncated (short read at token ${start})`);
    if (w === 1) for (let i = 0; i < n; i++) out[i] = this.scratch[i] as number;
    else for (let i = 0; i < n; i++) out[i] = this.scratch.readUInt16LE(2 * i);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function readHeader(fd: number, path: string): TokenFileHeader {
  const b = Buffer.alloc(TOKEN_FILE_HEADER_BYTES);
  const got = readSync(fd, b, 0, TOKEN_FILE_HEADER_BYTES, 0);
  if (got < TOKEN_FILE_HEADER_BYTES || b.toString('latin1', 0, 8) !== TOKEN_FILE_MAGIC) {
    throw new DataError(`${path} is not a ulysses token file (no ${TOKEN_FILE_MAGIC} header); create one with \`ulysses prepare\``);
  }
  const version = b.readUInt32LE(8);
  if (version !== TOKEN_FILE_VERSION) {
    throw new DataError(`token file ${path} has version ${version}; this ulysses reads version ${TOKEN_FILE_VERSION}`);
  }
  const bytesPerToken = b.readUInt32LE(16);
  if (bytesPerToken !== 1 && bytesPerToken !== 2) throw new DataError(`token file ${path} has ${bytesPerToken} bytes per token; expected 1 or 2`);
  const header: TokenFileHeader = {
    version,
    vocabSize: b.readUInt32LE(12),
    bytesPerToken,
    tokenCount: Number(b.readBigUInt64LE(24)),
    documentCount: Number(b.readBigUInt64LE(32)),
  };
  const expected = TOKEN_FILE_HEADER_BYTES + header.tokenCount * bytesPerToken;
  const size = fstatSync(fd).size;
  if (size !== expected) {
    throw new DataError(`token file ${path} is ${size} bytes but its header promises ${header.tokenCount} tokens (${expected} bytes): truncated or corrupt`);
  }
  return header;
}
