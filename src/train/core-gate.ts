// Core tokens for ranks that share a machine's cores as worker threads: a counting semaphore in a
// SharedArrayBuffer that a rank holds while it computes and hands back while it waits on
// communication, so that at most `tokens` ranks compute at once. With P ranks of t threads on
// C cores and tokens × t = C, no core is oversubscribed and, since a rank waiting in an all-to-all
// gives its core to one that still computes, none idles while work is left.
import type { CommHandle, Communicator } from '../dist/communicator.js';

/** The collectives that block; each has an async form named with 'Async' appended. */
const BLOCKING = new Set(['allToAll', 'allToAllV', 'allGather', 'reduceScatter', 'allReduce', 'broadcast', 'sendRecv', 'barrier']);

/** The shared state of a gate with `tokens` core tokens: [free tokens]. */
export function createCoreGateBuffer(tokens: number): SharedArrayBuffer {
  if (!Number.isInteger(tokens) || tokens < 1) throw new RangeError(`core gate: tokens must be a positive integer, got ${tokens}`);
  const sab = new SharedArrayBuffer(4);
  Atomics.store(new Int32Array(sab), 0, tokens);
  return sab;
}

/** One rank's side of a gate. */
export class CoreGate {
  private readonly free: Int32Array;
  private held = false;

  constructor(buffer: SharedArrayBuffer) {
    this.free = new Int32Array(buffer, 0, 1);
  }

  /** Whether this rank holds a token now. */
  get holding(): boolean {
    return this.held;
  }

  /** Blocks until a token is free, then takes it. */
  acquire(): void {
    if (this.held) throw new Error('core gate: acquire while already holding a token');
    for (;;) {
      const n = Atomics.load(this.free, 0);
      if (n > 0) {
        if (Atomics.compareExchange(this.free, 0, n, n - 1) === n) break;
        continue;
      }
      Atomics.wait(this.free, 0, n);
    }
    this.held = true;
  }

  /** Hands the token back and wakes one rank waiting for it. */
  release(): void {
    if (!this.held) throw new Error('core gate: release without holding a token');
    this.held = false;
    Atomics.add(this.free, 0, 1);
    Atomics.notify(this.free, 0, 1);
  }

  /** Runs f without the token (it blocks on another rank), taking the token back after. */
  outside<T>(f: () => T): T {
    this.release();
    try {
      return f();
    } finally {
      this.acquire();
    }
  }
}

function gatedHandle(h: CommHandle, gate: CoreGate): CommHandle {
  return {
    test: () => h.test(),
    // A handle that already completed costs no token hand-over.
    waitSync: () => (h.test() ? undefined : gate.outside(() => h.waitSync())),
    wait: async () => {
      if (h.test()) return;
      gate.release();
      try {
        await h.wait();
      } finally {
        gate.acquire();
      }
    },
  };
}

/**
 * comm with every blocking collective, and every wait on an async one, run outside the gate: the
 * rank holds its token only while it computes. Other members pass through unchanged.
 */
export function gatedCommunicator(comm: Communicator, gate: CoreGate): Communicator {
  return new Proxy(comm, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      const f = v as (...a: unknown[]) => unknown;
      const name = String(prop);
      if (BLOCKING.has(name)) return (...a: unknown[]) => gate.outside(() => f.apply(target, a));
      if (name.endsWith('Async') && BLOCKING.has(name.slice(0, -'Async'.length))) {
        return (...a: unknown[]) => gatedHandle(f.apply(target, a) as CommHandle, gate);
      }
      return f.bind(target);
    },
  });
}
