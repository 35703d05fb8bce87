// Sliding-window and block-sparse attention: the reference and the native kernels against a masked
// dense attention written here from an explicit [B,H,T,T] mask, forward and backward (out, lse, dq,
// dk, dv at relative L2 <= 1e-5), with odd sizes, GQA, B = 2, per-head layouts, rows that see
// nothing, and identical results on 1 and 2 threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttentionMaskSpec, AttentionShape, BlockLayout, Kernels } from '../../src/kernels/kernels.js';
import { createReferenceKernels } from '../../src/kernels/reference/reference-kernels.js';
import { createNativeKernels, setNativeThreads } from '../../src/kernels/native/native-kernels.js';
import { loadNativeAddon } from '../../src/kernels/native/binding.js';
import {
  bigBirdLayout, fixedLayout, layoutFrom, randomLayout, stridedLayout,
} from '../../src/attention/block-sparse-layouts.js';
import { assertClose, randomArray } from '../helpers.js';

interface Case {
  shape: AttentionShape;
  mask: AttentionMaskSpec;
  q: Float32Array; // [B,T,H,D]
  k: Float32Array; // [B,T,Hkv,D]
  v: Float32Array; // [B,T,Hkv,D]
  dout: Float32Array; // [B,T,H,D]
}

interface Result {
  out: Float32Array | Float64Array; // [B,T,H,D]
  lse: Float32Array | Float64Array; // [B,H,T]
  dq: Float32Array | Float64Array; // [B,T,H,D]
  dk: Float32Array | Float64Array; // [B,T,Hkv,D]
  dv: Float32Array | Float64Array; // [B,T,Hkv,D]
}

/** Document ids [B,T] cutting every row into documents of the given lengths (repeated). */
function docs(B: number, T: number, lens: number[]): Int32Array {
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0, n = 0, left = lens[0] as number, id = 100 * b; t < T; t++, left--) {
      if (left === 0) {
        n++;
        id++;
        left = lens[n % lens.length] as number;
      }
      ids[b * T + t] = id;
    }
  }
  return ids;
}

function makeCase(shape: AttentionShape, mask: AttentionMaskSpec, seed: number): Case {
  const { B, T, H, Hkv, D } = shape;
  return {
    shape, mask,
    q: randomArray(B * T * H * D, seed, 2), // peaked rows, so the masks matter
    k: randomArray(B * T * Hkv * D, seed + 1, 2),
    v: randomArray(B * T * Hkv * D, seed + 2),
    dout: randomArray(B * T * H * D, seed + 3),
  };
}

/** The explicit mask [B,H,T,T] of a spec, each condition written out as a product of 0/1 matrices. */
function explicitMask(shape: AttentionShape, m: AttentionMaskSpec): Uint8Array {
  const { B, T, H } = shape;
  const allowed = new Uint8Array(B * H * T * T).fill(1);
  const at = (b: number, h: number, i: number, j: number): number => ((b * H + h) * T + i) * T + j;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          if (m.causal && j > i) allowed[at(b, h, i, j)] = 0;
          if (m.docIds && m.docIds[b * T + i] !== m.docIds[b * T + j]) allowed[at(b, h, i, j)] = 0;
        }
        const w = m.window ?? 0;
        if (w > 0) {
          for (let j = 0; j < T; j++) if (j < i - w + 1 || j > i + w - 1) allowed[at(b, h, i, j)] = 0;
        }
      }
      const l = m.blockLayout;
      if (!l) continue;
      // Expand every empty block into its rectangle of token pairs.
      for (let qb = 0; qb < l.nBlocks; qb++) {
        for (let kb = 0; kb < l.nBlocks; kb++) {
          if (l.mask[((l.heads === 1 ? 0 : h) * l.nBlocks + qb) * l.nBlocks + kb]) continue;
          for (let i = qb * l.blockSize; i < Math.min(T, (qb + 1) * l.blockSize); i++) {
            for (let j = kb * l.blockSize; j < Math.min(T, (kb + 1) * l.blockSize); j++) allowed[at(b, h, i, j)] = 0;
          }
        }
      }
    }
  }
  return allowed;
}

/** Softmax attention over the explicitly allowed pairs, forward and backward, in float64. */
function maskedAttention(c: Case, allowed: Uint8Array, scale: number): Result {
  const { B, T, H, Hkv, D } = c.shape;
  const out = new Float64Array(B * T * H * D);
  const lse = new Float64Array(B * H * T);
  const dq = new Float64Array(B * T * H * D);
  const dk = new Float64Array(B * T * Hkv * D);
  const dv = new Float64Array(B * T * Hkv * D);
  const p = new Float64Array(T); // probabilities of one query row [T]
  const dp = new Float64Array(T); // dout . v of one query row [T]
  const row = (b: number, t: number, heads: number, h: number): number => ((b * T + t) * heads + h) * D;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hkv));
      for (let i = 0; i < T; i++) {
        const qi = row(b, i, H, h);
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          p[j] = -Infinity;
          if (!allowed[((b * H + h) * T + i) * T + j]) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += (c.q[qi + d] as number) * (c.k[row(b, j, Hkv, hk) + d] as number);
          p[j] = s * scale;
          max = Math.max(max, s * scale);
        }
        if (max === -Infinity) {
          lse[(b * H + h) * T + i] = -Infinity;
          continue;
        }
        let sum = 0;
        for (let j = 0; j < T; j++) sum += Math.exp((p[j] as number) - max);
        lse[(b * H + h) * T + i] = max + Math.log(sum);
        let dot = 0;
        for (let j = 0; j < T; j++) {
          p[j] = Math.exp((p[j] as number) - max) / sum;
          let g = 0;
          for (let d = 0; d < D; d++) g += (c.dout[qi + d] as number) * (c.v[row(b, j, Hkv, hk) + d] as number);
          dp[j] = g;
          dot += (p[j] as number) * g;
        }
        for (let j = 0; j < T; j++) {
          const pj = p[j] as number;
          if (pj === 0) continue;
          const kj = row(b, j, Hkv, hk);
          const ds = pj * ((dp[j] as number) - dot) * scale;
          for (let d = 0; d < D; d++) {
            out[qi + d] = (out[qi + d] as number) + pj * (c.v[kj + d] as number);
            dq[qi + d] = (dq[qi + d] as number) + ds * (c.k[kj + d] as number);
            dk[kj + d] = (dk[kj + d] as number) + ds * (c.q[qi + d] as number);
            dv[kj + d] = (dv[kj + d] as number) + pj * (c.dout[qi + d] as number);
          }
        }
      }
    }
  }
  return { out, lse, dq, dk, dv };
}

/** Forward then backward through a Kernels object; buffers start as NaN to prove they are written. */
function run(kern: Kernels, c: Case, scale: number): Result {
  const { B, T, H, Hkv, D } = c.shape;
  const out = new Float32Array(B * T * H * D).fill(NaN);
  const lse = new Float32Array(B * H * T).fill(NaN);
  kern.attention_forward(out, lse, c.q, c.k, c.v, c.shape, c.mask, scale);
  const dq = new Float32Array(B * T * H * D).fill(NaN);
  const dk = new Float32Array(B * T * Hkv * D).fill(NaN);
  const dv = new Float32Array(B * T * Hkv * D).fill(NaN);
  kern.attention_backward(dq, dk, dv, c.dout, c.q, c.k, c.v, out, lse, c.shape, c.mask, scale);
  return { out, lse, dq, dk, dv };
}

/** out, dq, dk, dv within 1e-5; lse -Infinity exactly where expected and within 1e-5 elsewhere. */
function expectMatch(got: Result, want: Result, label: string): void {
  for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
    assert.ok(got[key].every(Number.isFinite), `${label} ${key}: non-finite value`);
    if (want[key].every((x) => x === 0)) {
      // Exactly zero (a query that sees one key has dq = P (dP - dP) = 0): bound it absolutely.
      let worst = 0;
      for (const x of got[key]) worst = Math.max(worst, Math.abs(x));
      assert.ok(worst <= 1e-6, `${label} ${key}: expected zeros, got |x| up to ${worst}`);
    } else {
      assertClose(got[key], want[key], 1e-5, `${label} ${key}`);
    }
  }
  const finiteGot: number[] = [];
  const finiteWant: number[] = [];
  want.lse.forEach((x, i) => {
    if (x === -Infinity) assert.equal(got.lse[i], -Infinity, `${label} lse[${i}] should be -Infinity`);
    else {
      finiteGot.push(got.lse[i] as number);
      finiteWant.push(x);
    }
  });
  assertClose(finiteGot, finiteWant, 1e-5, `${label} lse`);
}

const ref = createReferenceKernels();
let nat: Kernels | undefined;
const native = (): Kernels => (nat ??= createNativeKernels());

function checkBoth(c: Case, label: string): void {
  const scale = 1 / Math.sqrt(c.shape.D);
  const want = maskedAttention(c, explicitMask(c.shape, c.mask), scale);
  expectMatch(run(ref, c, scale), want, `${label} (reference)`);
  expectMatch(run(native(), c, scale), want, `${label} (native)`);
}

const shape = (B: number, T: number, H: number, Hkv: number, D: number): AttentionShape => ({ B, T, H, Hkv, D });

const windowCases: Array<[string, AttentionShape, AttentionMaskSpec]> = [
  ['causal w=37 inside a tile', shape(1, 150, 2, 1, 16), { causal: true, docIds: null, window: 37 }],
  ['causal w=130 across tiles, GQA', shape(1, 300, 4, 2, 32), { causal: true, docIds: null, window: 130 }],
  ['causal w=1 (each query sees itself)', shape(1, 70, 2, 2, 8), { causal: true, docIds: null, window: 1 }],
  ['non-causal w=20', shape(1, 130, 2, 2, 8), { causal: false, docIds: null, window: 20 }],
  ['non-causal w=70, B=2', shape(2, 200, 2, 1, 20), { causal: false, docIds: null, window: 70 }],
  ['causal w=70 with documents', shape(2, 200, 2, 1, 16), { causal: true, docIds: docs(2, 200, [50, 90, 60]), window: 70 }],
];
for (const [label, s, m] of windowCases) {
  test(`sliding window matches the explicit mask: ${label}`, () => checkBoth(makeCase(s, m, 7 + s.T), label));
}

const causal = true;
const sparseCases: Array<[string, AttentionShape, boolean, Int32Array | null, number, BlockLayout]> = [
  ['BigBird bs=16, T=100 (short last block)', shape(1, 100, 2, 2, 16), causal, null, 0,
    bigBirdLayout({ T: 100, blockSize: 16, localBlocks: 1, globalBlocks: 1, randomBlocks: 1, seed: 3, causal })],
  ['per-head random bs=32, GQA, non-causal', shape(1, 150, 4, 2, 24), false, null, 0,
    randomLayout({ T: 150, blockSize: 32, heads: 4, density: 0.4, seed: 5 })],
  ['strided bs=64, B=2, causal', shape(2, 260, 2, 1, 32), causal, null, 0,
    stridedLayout({ T: 260, blockSize: 64, strideBlocks: 2, causal })],
  ['fixed bs=128, non-causal, D=17', shape(1, 300, 2, 2, 17), false, null, 0,
    fixedLayout({ T: 300, blockSize: 128, strideBlocks: 2, summaryBlocks: 1 })],
  ['per-head bs=48 with documents and window', shape(2, 230, 3, 1, 16), causal, docs(2, 230, [70, 41, 100]), 90,
    randomLayout({ T: 230, blockSize: 48, heads: 3, density: 0.6, seed: 9, causal })],
  ['per-head bs=32, B=1 Hkv=1 (split backward on 2 threads), documents, window', shape(1, 200, 2, 1, 32), causal,
    docs(1, 200, [90, 110]), 120, randomLayout({ T: 200, blockSize: 32, heads: 2, density: 0.7, seed: 6, causal })],
  ['bs=5, B=2, GQA H=6 Hkv=2', shape(2, 41, 6, 2, 8), false, null, 0,
    bigBirdLayout({ T: 41, blockSize: 5, heads: 6, localBlocks: 1, globalBlocks: 1, randomBlocks: 2, seed: 1 })],
  ['bs=1 (token-level layout)', shape(1, 23, 2, 1, 4), causal, null, 0,
    randomLayout({ T: 23, blockSize: 1, density: 0.3, seed: 2, causal })],
  ['one block covering everything (bs > T)', shape(1, 50, 2, 2, 8), causal, null, 0,
    randomLayout({ T: 50, blockSize: 80, density: 1, seed: 0 })],
];
for (const [label, s, c, d, w, layout] of sparseCases) {
  test(`block-sparse matches the explicit mask: ${label}`, () => {
    checkBoth(makeCase(s, { causal: c, docIds: d, window: w, blockLayout: layout }, 11 + s.T), label);
  });
}

test('block-sparse: query blocks that see nothing get out = 0, lse = -Infinity, zero dq and no NaN', () => {
  const s = shape(2, 90, 2, 1, 16);
  // Head 0: query block 1 sees nothing; head 1: query block 0 sees only block 2 (no key under causal).
  const layout = layoutFrom({ T: 90, blockSize: 32, heads: 2 }, (h, qb, kb) =>
    h === 0 ? qb !== 1 : qb === 0 ? kb === 2 : qb >= kb);
  for (const causalMask of [false, true]) {
    const c = makeCase(s, { causal: causalMask, docIds: null, blockLayout: layout }, 21);
    checkBoth(c, `empty rows, causal=${causalMask}`);
    const got = run(native(), c, 0.25);
    for (let i = 32; i < 64; i++) {
      assert.equal(got.lse[0 * 90 + i], -Infinity); // batch 0, head 0, query i
      for (let d = 0; d < 16; d++) {
        assert.equal(got.out[(i * 2 + 0) * 16 + d], 0);
        assert.equal(got.dq[(i * 2 + 0) * 16 + d], 0);
      }
    }
  }
});

test('block-sparse with every block kept equals the dense kernel', () => {
  const s = shape(1, 200, 2, 1, 32);
  const dense = makeCase(s, { causal: true, docIds: docs(1, 200, [120, 80]) }, 31);
  const full = { ...dense, mask: { ...dense.mask, blockLayout: randomLayout({ T: 200, blockSize: 64, density: 1, seed: 0 }) } };
  const a = run(native(), dense, 0.2);
  const b = run(native(), full, 0.2);
  for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const) assertClose(b[key], a[key], 1e-5, key);
});

test('sliding window and block-sparse: 1 and 2 threads give identical results', () => {
  const addon = loadNativeAddon();
  const before = addon.getNumThreads();
  try {
    // Hkv = 1, B = 1 makes the 2-thread backward split keys and queries; Hkv = 2 gives each thread a kv head.
    const variants: Array<[AttentionShape, AttentionMaskSpec]> = [
      [shape(1, 200, 2, 1, 32), { causal: true, docIds: null, window: 70 }],
      [shape(1, 200, 2, 1, 32), { causal: true, docIds: null,
        blockLayout: randomLayout({ T: 200, blockSize: 48, heads: 2, density: 0.5, seed: 4, causal: true }) }],
      [shape(1, 180, 4, 2, 16), { causal: false, docIds: docs(1, 180, [100, 80]), window: 60,
        blockLayout: bigBirdLayout({ T: 180, blockSize: 16, localBlocks: 1, globalBlocks: 1, randomBlocks: 2, seed: 8 }) }],
      [shape(1, 150, 2, 1, 16), { causal: true, docIds: null,
        blockLayout: stridedLayout({ T: 150, blockSize: 100, strideBlocks: 1, causal: true }) }],
    ];
    for (const [s, m] of variants) {
      const c = makeCase(s, m, 41);
      setNativeThreads(1, 1);
      const one = run(native(), c, 0.3);
      setNativeThreads(2, 1);
      const two = run(native(), c, 0.3);
      for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const) assert.deepEqual(two[key], one[key], key);
    }
  } finally {
    setNativeThreads(before.kernelThreads, before.blasThreads);
  }
});

test('native and reference attention refuse a layout that does not fit the shape', () => {
  const s = shape(1, 40, 2, 1, 4);
  const good = randomLayout({ T: 40, blockSize: 16, density: 1, seed: 0 });
  const bad: Array<[Partial<BlockLayout>, RegExp]> = [
    [{ nBlocks: 2 }, /nBlocks/],
    [{ heads: 3, mask: new Uint8Array(27) }, /heads/],
    [{ mask: new Uint8Array(4) }, /mask/],
    [{ blockSize: 0 }, /blockSize/],
  ];
  for (const kern of [ref, native()]) {
    for (const [patch, why] of bad) {
      const c = makeCase(s, { causal: true, docIds: null, blockLayout: { ...good, ...patch } }, 1);
      assert.throws(() => run(kern, c, 0.5), why, `${kern.name} ${JSON.stringify(Object.keys(patch))}`);
    }
    const c = makeCase(s, { causal: true, docIds: null, window: -1 }, 1);
    assert.throws(() => run(kern, c, 0.5), /window|non-negative/, `${kern.name} window`);
  }
});
