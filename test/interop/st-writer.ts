// A safetensors writer for tests that stores fp32 values as F32, F16 or BF16 (our writer only
// writes F32), to build folders the way `transformers` saves half-precision models.
import { writeFileSync } from 'node:fs';

export interface TestTensor {
  dtype: 'F32' | 'F16' | 'BF16' | 'I32';
  shape: number[];
  data: Float32Array;
}

/** fp32 -> fp16 bits for values fp16 holds exactly (the tests round their weights first). */
function f16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = (u >>> 13) & 0x3ff;
  if (x === 0) return sign;
  if (exp <= 0) {
    // Subnormal half: shift the implicit leading one into the mantissa.
    return sign | ((((u & 0x7fffff) | 0x800000) >>> (14 - exp)) & 0x3ff);
  }
  return sign | (exp << 10) | mant;
}

function encode(t: TestTensor): Buffer {
  if (t.dtype === 'F32') return Buffer.from(Float32Array.from(t.data).buffer);
  if (t.dtype === 'I32') return Buffer.from(Int32Array.from(t.data).buffer);
  const out = new Uint16Array(t.data.length);
  const bits = new Uint32Array(Float32Array.from(t.data).buffer);
  for (let i = 0; i < out.length; i++) out[i] = t.dtype === 'BF16' ? (bits[i] as number) >>> 16 : f16Bits(t.data[i] as number);
  return Buffer.from(out.buffer);
}

export function writeTestSafetensors(path: string, tensors: Map<string, TestTensor>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = encode(t);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), ...parts]));
}
