// One measurement in a fresh process: `node dist/bench/worker.js <gemm|attention|train> --key value ...`.
// Prints a single JSON line; the parent (bench/main.ts) collects it. A fresh process per
// measurement keeps peak RSS per measurement and thread settings from leaking between runs.
import { measureAttention, measureGemm } from './measure-kernels.js';
import { numOpt, parseOpts } from './util.js';

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  const o = parseOpts(rest);
  const threads = numOpt(o, 'threads', 2);
  let result: object;
  if (mode === 'gemm') {
    const sizes = (o.get('sizes') ?? '256,512,1024,2048').split(',').map(Number);
    result = measureGemm(threads, sizes, numOpt(o, 'seconds', 0.5));
  } else if (mode === 'attention') {
    result = measureAttention(
      numOpt(o, 'n'), numOpt(o, 'heads', 8), numOpt(o, 'head-size', 32), threads,
      numOpt(o, 'reps', 1), numOpt(o, 'warmup', 1),
    );
  } else if (mode === 'train') {
    // Imported lazily so the kernel modes work even while the model is being written.
    const { measureTrain } = await import('./measure-train.js');
    result = measureTrain(numOpt(o, 'n'), threads, numOpt(o, 'steps', 1), numOpt(o, 'warmup', 1));
  } else {
    throw new Error(`bench worker: unknown mode ${mode ?? '(none)'}; expected gemm, attention or train`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
