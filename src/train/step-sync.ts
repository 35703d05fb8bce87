// What the trainer needs from the ranks it trains with: sums of per-step counts and losses, the
// group the model states are reduced or sharded over, and per-step communication figures. A
// one-worker run uses LocalSync (no communication); a sequence- or data-parallel run uses
// CollectiveSync over the dp × sp group, so the loss is normalised by the global token count and
// the summed gradient equals the gradient of one worker training on the whole global batch.
import type { CommCounter } from '../dist/accounting.js';
import type { Communicator } from '../dist/communicator.js';
import type { Group } from '../dist/group.js';
import { GroupOps } from '../parallel/zero/group-ops.js';

/** Communication of one step on this rank. */
export interface StepComm {
  ms: number;
  /** Bytes this rank sent in every collective of the step. */
  bytesSent: number;
  /** Of which on the sequence-parallel group: the attention all-to-alls (and the docIds all-gather). */
  a2aBytesSent: number;
  /** Time in the sequence-parallel group's collectives (the rest is gradient and ZeRO traffic). */
  a2aMs: number;
}

export interface StepSync {
  /** Whether this rank writes metrics and checkpoints and prints (rank 0). */
  readonly isLeader: boolean;
  /** Exact sums of non-negative integers (token counts) over every rank. */
  sumCounts(values: readonly number[]): number[];
  /** fp32 sums of real values (loss sums) over every rank. */
  sumValues(values: readonly number[]): number[];
  /** The collectives of the dp × sp group, which gradients are summed and model states sharded over. */
  modelStateOps(): GroupOps;
  beginStep(): void;
  /** Communication since beginStep, or null when there is none. */
  endStep(): StepComm | null;
}

/** One worker: nothing to sum. */
export class LocalSync implements StepSync {
  readonly isLeader = true;
  sumCounts(values: readonly number[]): number[] {
    return [...values];
  }
  sumValues(values: readonly number[]): number[] {
    return [...values];
  }
  modelStateOps(): GroupOps {
    return new GroupOps(null, null);
  }
  beginStep(): void {}
  endStep(): null {
    return null;
  }
}

/** Integers travel as two fp32 digits base 2^12 so sums stay exact up to 2^36. */
const DIGIT = 4096;

export class CollectiveSync implements StepSync {
  readonly isLeader: boolean;

  /** `group` holds every rank that trains on different tokens (dp × sp). */
  constructor(private readonly comm: Communicator, private readonly group: Group) {
    this.isLeader = comm.rank === 0;
  }

  sumCounts(values: readonly number[]): number[] {
    const buf = new Float32Array(2 * values.length); // [values, 2]: high and low digit
    values.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 36) throw new RangeError(`sumCounts: ${v} is not an integer in [0, 2^36)`);
      buf[2 * i] = Math.floor(v / DIGIT);
      buf[2 * i + 1] = v % DIGIT;
    });
    this.comm.allReduce(buf, this.group);
    return values.map((_, i) => (buf[2 * i] as number) * DIGIT + (buf[2 * i + 1] as number));
  }

  sumValues(values: readonly number[]): number[] {
    const buf = Float32Array.from(values);
    this.comm.allReduce(buf, this.group);
    return Array.from(buf);
  }

  modelStateOps(): GroupOps {
    return new GroupOps(this.comm, this.group);
  }

  beginStep(): void {
    this.comm.reset();
  }

  endStep(): StepComm {
    const s = this.comm.snapshot();
    // Attention traffic: the sp group's (Ulysses), or the ring and ulysses groups' (modes ring and hybrid).
    const groups = ['sp', 'ring', 'ulysses'].map((g) => s.byGroup[g]);
    const sum = (f: (c: CommCounter) => number): number => groups.reduce((t, c) => t + (c ? f(c) : 0), 0);
    return { ms: s.total.timeMs, bytesSent: s.total.bytesSent, a2aBytesSent: sum((c) => c.bytesSent), a2aMs: sum((c) => c.timeMs) };
  }
}
