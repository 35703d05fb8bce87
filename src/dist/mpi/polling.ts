// Waiting for MPI requests under a deadline. MPI has no timeout of its own, so a watched wait polls
// mpiTest: it spins for spinMs (low latency while peers are close behind), then sleeps between polls
// in growing steps up to pollMs (frees the core when ranks outnumber cores).

export interface PollOptions {
  /** Give up after this long, in ms; Infinity never gives up. */
  readonly timeoutMs: number;
  /** Longest sleep between two polls, in ms. */
  readonly pollMs: number;
  /** How long to poll without sleeping first, in ms. */
  readonly spinMs: number;
}

const FIRST_SLEEP_MS = 0.05;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` milliseconds (fractions allowed). */
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** The pause before the next poll: none while spinning, then doubling up to pollMs, never past the deadline. */
class Backoff {
  readonly #t0 = performance.now();
  #next = FIRST_SLEEP_MS;

  constructor(private readonly opts: PollOptions) {}

  expired(): boolean {
    return performance.now() - this.#t0 > this.opts.timeoutMs;
  }

  delay(): number {
    const elapsed = performance.now() - this.#t0;
    if (elapsed < this.opts.spinMs) return 0;
    const d = this.#next;
    this.#next = Math.min(this.opts.pollMs, d * 2);
    return Math.max(0, Math.min(d, this.opts.timeoutMs - elapsed + 0.01));
  }
}

/** Polls `done` until it returns true; throws `timeout()` once the deadline has passed. */
export function pollSync(done: () => boolean, opts: PollOptions, timeout: () => Error): void {
  const backoff = new Backoff(opts);
  while (!done()) {
    if (backoff.expired()) throw timeout();
    const d = backoff.delay();
    if (d > 0) sleepSync(d);
  }
}

/** Like pollSync, but yields to the event loop between polls. */
export async function pollAsync(done: () => boolean, opts: PollOptions, timeout: () => Error): Promise<void> {
  const backoff = new Backoff(opts);
  while (!done()) {
    if (backoff.expired()) throw timeout();
    const d = backoff.delay();
    await new Promise<void>((resolve) => (d > 0 ? setTimeout(resolve, d) : setImmediate(resolve)));
  }
}
