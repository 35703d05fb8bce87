// A run's train.log: every line the run prints to stdout, appended as it is printed, kept in the run
// folder beside config.json and metrics.jsonl. One writer appends at a time (the thread or rank that
// prints), each line in one appendFileSync call so a line is never split.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RUN_LOG_FILE = 'train.log';

/** The log function of a writer whose run folder exists already: prints each line, then appends it to train.log. */
export function teeToRunLog(print: (line: string) => void, runDir: string): (line: string) => void {
  const path = join(runDir, RUN_LOG_FILE);
  return (line: string): void => {
    print(line);
    appendFileSync(path, `${line}\n`);
  };
}

/** A log function for a run whose folder is made after its first lines: those wait here until `open`. */
export class RunLog {
  private readonly pending: string[] = [];
  private write: ((line: string) => void) | null = null;

  constructor(private readonly print: (line: string) => void) {}

  readonly log = (line: string): void => {
    if (this.write) this.write(line);
    else {
      this.print(line);
      this.pending.push(line);
    }
  };

  /** Starts train.log in runDir with the lines printed so far: a new run's log starts empty, a resumed run's goes on. */
  open(runDir: string, resumed: boolean): void {
    const text = this.pending.map((l) => `${l}\n`).join('');
    const path = join(runDir, RUN_LOG_FILE);
    // A new run's folder may hold the log of an attempt that failed before its first metrics; that log is replaced.
    if (resumed) appendFileSync(path, text);
    else writeFileSync(path, text);
    this.pending.length = 0;
    this.write = teeToRunLog(this.print, runDir);
  }
}
