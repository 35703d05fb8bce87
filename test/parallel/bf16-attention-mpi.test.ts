// bf16 all-to-alls in DistributedAttention on the MPI backend: the same checks as the threads
// backend (bf16-attention.test.ts) under mpirun -np 4: within bf16 rounding of full-sequence fp32
// attention, fp32 wire exact, and the bytes equal to the volume formula with 2 bytes per element.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { canRun, describeRun, run } from '../dist-mpi/mpirun.js';
import type { Bf16Case, Bf16Result } from './bf16-attention-worker.js';
import type { Bf16Program } from './bf16-mpi-program.js';

const PROGRAM = new URL('./bf16-mpi-program.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'ulysses-bf16-mpi-'));
after(() => rmSync(root, { recursive: true, force: true }));

const BF16_TOL = 1e-2;
const P = 4;
const cases: Bf16Case[] = [
  { B: 1, N: 32, H: 8, Hkv: 8, D: 16, docs: false },
  { B: 2, N: 15, H: 6, Hkv: 2, D: 8, docs: true },
];

test(`mpi: bf16 all-to-alls stay within ${BF16_TOL} of fp32 and match the byte formula, mpirun -np ${P}`, { timeout: 90_000 }, async (t) => {
  if (!canRun(t)) return;
  const out = mkdtempSync(join(root, 'run-'));
  const program: Bf16Program = { P, cases, out };
  const r = await run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(P), process.execPath, PROGRAM, JSON.stringify(program)], 60_000);
  assert.equal(r.timedOut, false, `the job timed out${describeRun(r)}`);
  assert.equal(r.status, 0, `the job failed${describeRun(r)}`);
  for (let rank = 0; rank < P; rank++) {
    const results = JSON.parse(readFileSync(join(out, `rank${rank}.json`), 'utf8')) as Bf16Result[];
    assert.equal(results.length, cases.length);
    for (const x of results) {
      for (const [name, e] of Object.entries(x.fp32.err)) assert.ok(e <= 1e-5, `${x.label} fp32 wire: ${name} ${e}`);
      for (const [name, e] of Object.entries(x.bf16.err)) assert.ok(e <= BF16_TOL && e >= 1e-5, `${x.label} bf16 wire: ${name} ${e}`);
      for (const w of [x.fp32, x.bf16]) {
        assert.deepEqual(w.fwd, w.fwdFormula, `${x.label}: forward bytes`);
        assert.deepEqual(w.bwd, w.bwdFormula, `${x.label}: backward bytes`);
      }
    }
  }
});
