// Reading metrics.jsonl while a run may still be writing it: only newline-terminated lines count
// as complete, so a line caught half-written is left for the next read instead of being misparsed.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** One metrics line: a JSON object with a numeric step; every other field is passed through. */
export type MetricsRecord = { step: number } & Record<string, unknown>;

export interface ParsedChunk {
  records: MetricsRecord[];
  /** Bytes of the chunk that were complete lines (the rest is an unfinished line). */
  consumed: number;
  /** Complete lines that were not a JSON object with a numeric step. */
  bad: number;
}

const NEWLINE = 0x0a;

function parseLine(line: string): MetricsRecord | null {
  try {
    const v = JSON.parse(line) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    const step = (v as { step?: unknown }).step;
    return typeof step === 'number' && Number.isFinite(step) ? (v as MetricsRecord) : null;
  } catch {
    return null;
  }
}

/** Parses the complete lines of a chunk of metrics.jsonl bytes. */
export function parseMetricsChunk(bytes: Uint8Array): ParsedChunk {
  const end = bytes.lastIndexOf(NEWLINE) + 1;
  const records: MetricsRecord[] = [];
  let bad = 0;
  for (const line of Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    const rec = parseLine(line);
    if (rec) records.push(rec);
    else bad++;
  }
  return { records, consumed: end, bad };
}

export interface TailRead {
  records: MetricsRecord[];
  /** The file shrank (a resumed run rewrote it): records start over from the beginning. */
  reset: boolean;
  bad: number;
}

/** Incremental reader of one metrics.jsonl: each read() returns the complete lines added since the last. */
export class MetricsTail {
  private offset = 0;

  constructor(readonly path: string) {}

  read(): TailRead {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      // Not created yet (the run is starting) or removed: nothing to report.
      return { records: [], reset: false, bad: 0 };
    }
    try {
      const size = fstatSync(fd).size;
      const reset = size < this.offset;
      if (reset) this.offset = 0;
      if (size === this.offset) return { records: [], reset, bad: 0 };
      const buf = Buffer.alloc(size - this.offset);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      const parsed = parseMetricsChunk(buf.subarray(0, got));
      this.offset += parsed.consumed;
      return { records: parsed.records, reset, bad: parsed.bad };
    } finally {
      closeSync(fd);
    }
  }
}

/** Every complete record of a metrics file (an empty list when it does not exist). */
export function readMetricsFile(path: string): { records: MetricsRecord[]; bad: number } {
  const r = new MetricsTail(path).read();
  return { records: r.records, bad: r.bad };
}
