// Block-sparse layout builders: each preset against its definition on hand-checked small cases,
// reproducibility from the seed, exact densities, head slicing for Ulysses ranks, and a layout
// run through LocalAttention on the native kernels against the reference kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bigBirdLayout, denseLayout, fixedLayout, layoutDensity, layoutFrom, randomLayout, sliceLayoutHeads, stridedLayout,
} from '../../src/attention/block-sparse-layouts.js';
import { LocalAttention } from '../../src/attention/local-attention.js';
import type { AttentionMaskSpec, AttentionShape, BlockLayout } from '../../src/kernels/kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels } from '../../src/kernels/native/native-kernels.js';
import { assertClose, randomArray } from '../helpers.js';

/** Rows of head h as strings of 0/1, one per query block. */
function rows(l: BlockLayout, h = 0): string[] {
  const nb = l.nBlocks;
  const out: string[] = [];
  for (let qb = 0; qb < nb; qb++) out.push([...l.mask.subarray((h * nb + qb) * nb, (h * nb + qb + 1) * nb)].join(''));
  return out;
}

test('fixed layout: own chunk plus the summary blocks of every chunk', () => {
  const l = fixedLayout({ T: 6 * 8, blockSize: 8, strideBlocks: 3, summaryBlocks: 1 });
  assert.equal(l.nBlocks, 6);
  assert.deepEqual(rows(l), ['111001', '111001', '111001', '001111', '001111', '001111']);
  const c = fixedLayout({ T: 6 * 8 - 3, blockSize: 8, strideBlocks: 3, summaryBlocks: 1, causal: true });
  assert.deepEqual(rows(c), ['100000', '110000', '111000', '001100', '001110', '001111']);
});

test('strided layout: the previous strideBlocks blocks and every strideBlocks-th before them', () => {
  const l = stridedLayout({ T: 7 * 4, blockSize: 4, strideBlocks: 3, causal: true });
  assert.deepEqual(rows(l), ['1000000', '1100000', '1110000', '1111000', '0111100', '0011110', '1001111']);
  const n = stridedLayout({ T: 5, blockSize: 1, strideBlocks: 2 });
  assert.deepEqual(rows(n), ['11101', '11110', '11111', '01111', '10111']);
});

test('BigBird layout: window, global rows and columns, and the stated number of random blocks', () => {
  const o = { T: 20 * 16, blockSize: 16, localBlocks: 1, globalBlocks: 2, randomBlocks: 3, seed: 7 };
  const l = bigBirdLayout(o);
  const r = rows(l);
  for (let qb = 0; qb < 20; qb++) {
    const row = r[qb] as string;
    if (qb < 2) {
      assert.equal(row, '1'.repeat(20), `global row ${qb}`);
      continue;
    }
    assert.equal(row.slice(0, 2), '11', `global columns of row ${qb}`);
    for (let kb = qb - 1; kb <= Math.min(19, qb + 1); kb++) assert.equal(row[kb], '1', `window ${qb},${kb}`);
    const fixed = new Set([0, 1, qb - 1, qb, qb + 1].filter((x) => x < 20));
    assert.equal([...row].filter((x) => x === '1').length, fixed.size + 3, `random blocks of row ${qb}`);
  }
  assert.deepEqual(bigBirdLayout(o).mask, l.mask, 'same seed, same layout');
  assert.notDeepEqual(bigBirdLayout({ ...o, seed: 8 }).mask, l.mask, 'another seed, another layout');
  const perHead = bigBirdLayout({ ...o, heads: 2 });
  assert.notDeepEqual(rows(perHead, 1), rows(perHead, 0), 'each head draws its own random blocks');
  const c = bigBirdLayout({ ...o, causal: true });
  for (let qb = 0; qb < 20; qb++) assert.ok(!(rows(c)[qb] as string).slice(qb + 1).includes('1'), `causal row ${qb}`);
  // Row 10 keeps its window below the diagonal, the 2 global columns and 3 random blocks from 2..8.
  assert.equal([...(rows(c)[10] as string)].filter((x) => x === '1').length, 2 + 2 + 3);
});

test('random layout keeps the diagonal and exactly the requested share of the allowed blocks', () => {
  for (const causal of [false, true]) {
    const l = randomLayout({ T: 1000, blockSize: 25, heads: 3, density: 0.25, seed: 3, causal });
    const nb = 40;
    const allowed = causal ? (nb * (nb + 1)) / 2 : nb * nb;
    for (let h = 0; h < 3; h++) {
      const r = rows(l, h);
      let kept = 0;
      for (let qb = 0; qb < nb; qb++) {
        assert.equal((r[qb] as string)[qb], '1', `diagonal ${h},${qb}`);
        if (causal) assert.ok(!(r[qb] as string).slice(qb + 1).includes('1'));
        kept += [...(r[qb] as string)].filter((x) => x === '1').length;
      }
      assert.equal(kept, Math.round(0.25 * allowed), `head ${h}, causal ${causal}`);
    }
    assert.ok(Math.abs(layoutDensity(l, causal) - 0.25) < 1e-3);
  }
  assert.equal(layoutDensity(denseLayout({ T: 100, blockSize: 16, causal: true }), true), 1);
  assert.equal(layoutDensity(randomLayout({ T: 100, blockSize: 10, density: 0, seed: 1 }), false), 0.1);
});

test('sliceLayoutHeads gives a rank the layout of its heads', () => {
  const l = layoutFrom({ T: 12, blockSize: 4, heads: 4 }, (h, qb, kb) => (h + qb + kb) % 3 === 0);
  const s = sliceLayoutHeads(l, 2, 2);
  assert.equal(s.heads, 2);
  assert.deepEqual(rows(s, 0), rows(l, 2));
  assert.deepEqual(rows(s, 1), rows(l, 3));
  const shared = denseLayout({ T: 12, blockSize: 4 });
  assert.equal(sliceLayoutHeads(shared, 1, 1), shared);
  assert.throws(() => sliceLayoutHeads(l, 3, 2), /outside/);
});

test('layout builders refuse bad arguments with the field name', () => {
  assert.throws(() => denseLayout({ T: 10, blockSize: 0 }), /blockSize/);
  assert.throws(() => fixedLayout({ T: 10, blockSize: 2, strideBlocks: 0, summaryBlocks: 1 }), /strideBlocks/);
  assert.throws(() => randomLayout({ T: 10, blockSize: 2, density: 1.5, seed: 0 }), /density/);
  assert.throws(
    () => bigBirdLayout({ T: 10, blockSize: 2, localBlocks: -1, globalBlocks: 0, randomBlocks: 0, seed: 0 }),
    /localBlocks/,
  );
});

test('LocalAttention with a per-head BigBird layout: native matches the reference', () => {
  const shape: AttentionShape = { B: 2, T: 150, H: 4, Hkv: 2, D: 16 };
  const { B, T, H, Hkv, D } = shape;
  const mask: AttentionMaskSpec = {
    causal: true, docIds: null, window: 100,
    blockLayout: bigBirdLayout({ T, blockSize: 32, heads: H, localBlocks: 1, globalBlocks: 1, randomBlocks: 1, seed: 2, causal: true }),
  };
  const q = randomArray(B * T * H * D, 1); // [B,T,H,D]
  const k = randomArray(B * T * Hkv * D, 2); // [B,T,Hkv,D]
  const v = randomArray(B * T * Hkv * D, 3); // [B,T,Hkv,D]
  const dout = randomArray(B * T * H * D, 4); // [B,T,H,D]
  const grads = (core: LocalAttention): Float32Array[] => {
    const out = new Float32Array(B * T * H * D);
    const saved = core.forward(out, q, k, v, shape, mask);
    const dq = new Float32Array(B * T * H * D);
    const dk = new Float32Array(B * T * Hkv * D);
    const dv = new Float32Array(B * T * Hkv * D);
    core.backward(dq, dk, dv, dout, saved);
    return [out, dq, dk, dv];
  };
  const want = grads(new LocalAttention(createReferenceKernels()));
  const got = grads(new LocalAttention(createNativeKernels()));
  ['out', 'dq', 'dk', 'dv'].forEach((name, i) => assertClose(got[i] as Float32Array, want[i] as Float32Array, 1e-5, name));
});
