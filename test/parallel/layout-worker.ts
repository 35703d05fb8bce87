// Program every rank runs in layouts.test.ts: sequence-to-head and back on tensors whose every
// element encodes (batch, token, head, d), checked exactly against the slice each rank must hold,
// plus the bytes each exchange recorded.
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGroup } from '../../src/dist/group.js';
import { headToSeq, seqToHead, seqToHeadCounts, type A2ALayout } from '../../src/parallel/ulysses/layouts.js';
import { makeUlyssesPlan } from '../../src/parallel/ulysses/plan.js';

export interface LayoutCase {
  readonly B: number;
  readonly N: number;
  readonly H: number;
  readonly Hkv: number;
  readonly D: number;
}

export interface LayoutResult {
  readonly label: string;
  /** Mismatching elements (0 = exact). */
  readonly bad: number;
  readonly sent: number;
  readonly received: number;
  readonly expectSent: number;
  readonly expectReceived: number;
  readonly op: string;
}

const code = (b: number, t: number, h: number, d: number): number => ((b * 100 + t) * 100 + h) * 10 + d;

function check(label: string, actual: Float32Array, expected: (i: number) => number): number {
  let bad = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected(i)) bad++;
  if (bad > 0) console.error(`${label}: ${bad} wrong elements`);
  return bad;
}

export function main(comm: Communicator, args: { cases: LayoutCase[] }): LayoutResult[] {
  const P = comm.worldSize;
  const g = makeGroup('sp', Array.from({ length: P }, (_, r) => r), comm.rank);
  const me = g.index;
  const out: LayoutResult[] = [];
  for (const c of args.cases) {
    const plan = makeUlyssesPlan(P, c.N, c.H, c.Hkv);
    for (const kind of ['q', 'kv'] as const) {
      const Hs = kind === 'q' ? c.H : c.Hkv;
      const spans = kind === 'q' ? plan.heads : plan.kv;
      const l: A2ALayout = { B: c.B, D: c.D, Hs, tokenCounts: plan.tokenCounts, tokenOffsets: plan.tokenOffsets, spans };
      const n = plan.tokenCounts[me] as number;
      const s0 = plan.tokenOffsets[me] as number;
      const span = spans[me] as { start: number; count: number };
      const seq = new Float32Array(c.B * n * Hs * c.D); // [B, n, Hs, D]
      for (let i = 0; i < seq.length; i++) {
        const d = i % c.D;
        const h = Math.floor(i / c.D) % Hs;
        const t = Math.floor(i / (c.D * Hs)) % n;
        const b = Math.floor(i / (c.D * Hs * n));
        seq[i] = code(b, s0 + t, h, d);
      }
      const head = new Float32Array(c.B * c.N * span.count * c.D); // [B, N, c, D]
      comm.reset();
      seqToHead(comm, g, l, head, seq);
      const s1 = comm.snapshot();
      const counts = seqToHeadCounts(l, me);
      const others = (a: number[]): number => a.reduce((s, x, j) => s + (j === me ? 0 : x), 0) * 4;
      const label = `${kind} B${c.B} N${c.N} H${c.H} Hkv${c.Hkv} P${P} rank ${me}`;
      const bad1 = check(`${label} seq->head`, head, (i) => {
        const d = i % c.D;
        const h = Math.floor(i / c.D) % span.count;
        const t = Math.floor(i / (c.D * span.count)) % c.N;
        const b = Math.floor(i / (c.D * span.count * c.N));
        return code(b, t, span.start + h, d);
      });
      out.push({
        label: `${label} seq->head`, bad: bad1, sent: s1.total.bytesSent, received: s1.total.bytesReceived,
        expectSent: others(counts.send), expectReceived: others(counts.recv), op: Object.keys(s1.byOp).join(','),
      });
      // Back: every rank holding head h contributes its copy, so h comes back times its holders.
      const holders = (h: number): number => spans.filter((s) => h >= s.start && h < s.start + s.count).length;
      const back = new Float32Array(seq.length).fill(NaN); // [B, n, Hs, D]
      comm.reset();
      headToSeq(comm, g, l, back, head);
      const s2 = comm.snapshot();
      const bad2 = check(`${label} head->seq`, back, (i) => (seq[i] as number) * holders(Math.floor(i / c.D) % Hs));
      out.push({
        label: `${label} head->seq`, bad: bad2, sent: s2.total.bytesSent, received: s2.total.bytesReceived,
        expectSent: others(counts.recv), expectReceived: others(counts.send), op: Object.keys(s2.byOp).join(','),
      });
    }
  }
  return out;
}
