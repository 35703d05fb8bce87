// The safetensors file format (Hugging Face): an 8-byte little-endian header length, a JSON
// header mapping names to {dtype, shape, data_offsets}, then the raw little-endian tensor bytes.
// Files are written to a temporary name and renamed, so a crash never leaves a half-written file.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export type SafeDtype = 'F32' | 'I32';

export interface NamedTensor {
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsContent {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Serialises tensors (in the given order) and string metadata into one buffer. */
export function encodeSafetensors(tensors: Map<string, NamedTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, HeaderEntry | Record<string, string>> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) {
      throw new Error(`safetensors: tensor ${name} has ${t.data.length} elements but shape [${t.shape}] needs ${numel}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // The header is padded with spaces to a multiple of 8 bytes so tensor data stays aligned.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parses a safetensors buffer; F32 and I32 tensors are supported, anything else is refused by name. */
export function decodeSafetensors(buf: Uint8Array, source = 'buffer'): SafetensorsContent {
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.length < 8) throw new Error(`safetensors: ${source} is too short to hold a header`);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  if (8 + headerLen > bytes.length) throw new Error(`safetensors: ${source} header length ${headerLen} exceeds the file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  } catch (err: unknown) {
    throw new Error(`safetensors: ${source} has an unreadable header (${err instanceof Error ? err.message : err})`);
  }
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const e = value as HeaderEntry;
    const [begin, end] = e.data_offsets;
    if (dataStart + end > bytes.length || begin > end) {
      throw new Error(`safetensors: ${source} tensor ${name} points outside the file`);
    }
    // Copy into a fresh aligned buffer: the file's data section need not be 4-byte aligned in memory.
    const raw = new Uint8Array(end - begin);
    raw.set(bytes.subarray(dataStart + begin, dataStart + end));
    let data: Float32Array | Int32Array;
    if (e.dtype === 'F32') data = new Float32Array(raw.buffer);
    else if (e.dtype === 'I32') data = new Int32Array(raw.buffer);
    else throw new Error(`safetensors: ${source} tensor ${name} has dtype ${e.dtype}; supported: F32, I32`);
    const numel = e.shape.reduce((a, b) => a * b, 1);
    if (numel !== data.length) throw new Error(`safetensors: ${source} tensor ${name} size does not match its shape`);
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** Writes atomically: a temporary file in the same folder, then a rename over the target. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeSafetensors(path: string, tensors: Map<string, NamedTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(path: string): SafetensorsContent {
  return decodeSafetensors(readFileSync(path), path);
}
