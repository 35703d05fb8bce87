import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type NamedTensor } from '../../src/tensor/safetensors.js';
import { randomArray } from '../helpers.js';

function sample(): Map<string, NamedTensor> {
  return new Map<string, NamedTensor>([
    ['a.weight', { dtype: 'F32', shape: [3, 5], data: randomArray(15, 1) }],
    ['b', { dtype: 'I32', shape: [4], data: Int32Array.from([1, -2, 3, 1 << 30]) }],
    ['scalar', { dtype: 'F32', shape: [], data: Float32Array.of(2.5) }],
  ]);
}

test('safetensors round trip keeps names, shapes, dtypes, values and metadata', () => {
  const tensors = sample();
  const back = decodeSafetensors(encodeSafetensors(tensors, { format: 'pt' }));
  assert.deepEqual(back.metadata, { format: 'pt' });
  assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    const b = back.tensors.get(name);
    assert.ok(b, name);
    assert.equal(b.dtype, t.dtype);
    assert.deepEqual(b.shape, t.shape);
    assert.deepEqual(Array.from(b.data), Array.from(t.data));
  }
});

test('safetensors layout: little-endian header length, JSON header padded to 8 bytes, data offsets', () => {
  const buf = encodeSafetensors(sample());
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: number[] }>;
  assert.deepEqual(header['a.weight']?.data_offsets, [0, 60]);
  assert.deepEqual(header['b']?.data_offsets, [60, 76]);
  assert.equal(buf.length, 8 + n + 80);
  // The first float of a.weight sits right after the header.
  assert.equal(buf.readFloatLE(8 + n), sample().get('a.weight')?.data[0]);
});

test('safetensors files are written atomically and read back; corrupt files are refused with the reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulysses-st-'));
  const path = join(dir, 'model.safetensors');
  writeSafetensors(path, sample());
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
  assert.equal(readSafetensors(path).tensors.size, 3);
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 4));
  assert.throws(() => readSafetensors(path), /points outside the file/);
  writeFileSync(path, Buffer.from([1, 2, 3]));
  assert.throws(() => readSafetensors(path), /too short/);
  assert.throws(
    () => encodeSafetensors(new Map([['x', { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }]])),
    /x has 3 elements but shape \[2,2\] needs 4/,
  );
});
