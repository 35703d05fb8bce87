// `node dist/bench/attention-variants.js [--n 4096,8192,16384] [--heads 8] [--d 32] [--block 64]
//   [--threads 1] [--reps 3]`
//
// Times fused causal attention forward and backward in its sparse variants against dense flash
// on one worker: block-sparse layouts keeping 10%, 25% and 50% of the causal blocks (the diagonal
// plus random blocks), BigBird, and sliding windows of 512 and 1024 tokens. "kept" is the share
// of the causal (query, key) work the variant keeps, so time / dense should track it, and the last
// column (time / dense) / kept is 1 when the cost is exactly proportional.
import type { AttentionMaskSpec, AttentionShape } from '../src/kernels/kernels.js';
import { createNativeKernels, setNativeThreads } from '../src/kernels/native/native-kernels.js';
import { bigBirdLayout, layoutDensity, randomLayout } from '../src/attention/block-sparse-layouts.js';
import { fillRandom, fmt, fmtN, mdTable, nowS, parseOpts } from './util.js';

interface Variant {
  name: string;
  mask: AttentionMaskSpec;
  /** Share of the causal (query, key) pairs or blocks the variant computes. */
  kept: number;
}

function variants(N: number, bs: number): Variant[] {
  const causal = true;
  const out: Variant[] = [{ name: 'dense flash', mask: { causal, docIds: null }, kept: 1 }];
  for (const density of [0.5, 0.25, 0.1]) {
    const blockLayout = randomLayout({ T: N, blockSize: bs, density, seed: 1, causal });
    out.push({
      name: `block-sparse ${Math.round(density * 100)}% (bs=${bs})`,
      mask: { causal, docIds: null, blockLayout },
      kept: layoutDensity(blockLayout, causal),
    });
  }
  const bigBird = bigBirdLayout({ T: N, blockSize: bs, localBlocks: 1, globalBlocks: 1, randomBlocks: 3, seed: 1, causal });
  out.push({ name: `BigBird 1+1+3 (bs=${bs})`, mask: { causal, docIds: null, blockLayout: bigBird }, kept: layoutDensity(bigBird, causal) });
  for (const w of [1024, 512]) {
    // Pairs with 0 <= i - j < w among the N(N+1)/2 causal pairs.
    const pairs = N * w - (w * (w - 1)) / 2;
    out.push({ name: `sliding window w=${w}`, mask: { causal, docIds: null, window: w }, kept: pairs / ((N * (N + 1)) / 2) });
  }
  return out;
}

/** Seconds of CPU time used by this process so far. */
function cpuS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function main(): void {
  const opts = parseOpts(process.argv.slice(2));
  const sizes = (opts.get('n') ?? '4096,8192,16384').split(',').map(Number);
  const H = Number(opts.get('heads') ?? 8);
  const D = Number(opts.get('d') ?? 32);
  const bs = Number(opts.get('block') ?? 64);
  const threads = Number(opts.get('threads') ?? 1);
  const reps = Number(opts.get('reps') ?? 3);
  setNativeThreads(threads, threads);
  const k = createNativeKernels();
  // On one thread the process CPU time is the call's time without what the shared machine gave to
  // other processes; with more threads it would add them up, so wall time is used.
  const clock = threads === 1 ? cpuS : nowS;
  const what = threads === 1 ? 'process CPU time' : 'wall time';
  console.log(`attention variants: B=1, H=${H}, D=${D}, causal, ${threads} thread(s), ${what}, fastest of ${reps} rounds after 1 warm-up`);
  for (const N of sizes) {
    const shape: AttentionShape = { B: 1, T: N, H, Hkv: H, D };
    const elems = N * H * D;
    const buf = (seed: number): Float32Array => {
      const a = new Float32Array(elems);
      fillRandom(a, seed);
      return a;
    };
    const q = buf(11), kk = buf(12), v = buf(13), dout = buf(14); // [1,N,H,D]
    const out = buf(15), dq = buf(16), dk = buf(17), dv = buf(18); // [1,N,H,D]
    const lse = new Float32Array(H * N); // [1,H,N]
    const scale = 1 / Math.sqrt(D);
    // Rounds go through every variant in turn, so a busy spell on the machine hits them all alike;
    // each variant keeps its fastest round after the warm-up.
    const vs = variants(N, bs);
    const fwd = vs.map(() => Infinity);
    const bwd = vs.map(() => Infinity);
    for (let r = 0; r <= reps; r++) {
      vs.forEach((vr, i) => {
        const t0 = clock();
        k.attention_forward(out, lse, q, kk, v, shape, vr.mask, scale);
        const t1 = clock();
        k.attention_backward(dq, dk, dv, dout, q, kk, v, out, lse, shape, vr.mask, scale);
        const t2 = clock();
        if (r > 0) {
          fwd[i] = Math.min(fwd[i] as number, t1 - t0);
          bwd[i] = Math.min(bwd[i] as number, t2 - t1);
        }
      });
    }
    const denseTotal = (fwd[0] as number) + (bwd[0] as number);
    const rows = vs.map((vr, i) => {
      const f = fwd[i] as number;
      const b = bwd[i] as number;
      const ratio = (f + b) / denseTotal;
      return [
        vr.name, fmt(vr.kept * 100, 1) + '%', fmt(f * 1e3, 0), fmt(b * 1e3, 0), fmt((f + b) * 1e3, 0),
        fmt(ratio, 3), fmt(ratio / vr.kept, 2),
      ];
    });
    console.log(`\nN = ${fmtN(N)}`);
    console.log(mdTable(['variant', 'kept', 'fwd ms', 'bwd ms', 'fwd+bwd ms', 'time / dense', '(time / dense) / kept'], rows));
  }
}

main();
