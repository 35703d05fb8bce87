// Buffers the all-to-alls of one DistributedAttention take and give back, keyed by element type
// and length. Send buffers come from comm.allocShared where the backend has it (the threads
// backend then lets peers read them in place: one copy per transfer instead of two); everything
// else is an ordinary typed array. Reusing them also saves the page faults of first-touching a
// fresh multi-MiB array on every call, on every backend. allocShared messages every peer, so
// buffers are kept for reuse rather than freed after each call.
import type { Communicator, Payload } from '../../dist/communicator.js';
import { wireAlloc, type WireBuffer, type WireDtype } from './wire.js';

/** Where layouts.ts takes its packing and receive buffers from. */
export interface WirePool {
  /**
   * A buffer of n elements of `wire`, not in use by anyone else until given back. Its contents are
   * unspecified unless `zeroed` (callers that overwrite every element skip the fill).
   */
  take(wire: WireDtype, n: number, use: 'send' | 'recv', zeroed?: boolean): WireBuffer;
  /** Gives back a buffer from take, once no call reads or writes it any more. */
  give(buf: WireBuffer): void;
}

/** No pooling: a fresh zeroed array per take, dropped on give (the behaviour without a pool). */
export const freshWirePool: WirePool = {
  take: (wire, n) => wireAlloc(wire, n),
  give: () => {},
};

/** What a pool holds: buffers made, of them shared (allocShared) ones, and those in use now. */
export interface WirePoolStats {
  buffers: number;
  shared: number;
  inUse: number;
  bytes: number;
}

export class PayloadPool implements WirePool {
  /** Idle buffers by key `${wire}:${n}:${send|recv}`. */
  private readonly idle = new Map<string, WireBuffer[]>();
  private readonly keyOf = new Map<WireBuffer, string>();
  private readonly busy = new Set<WireBuffer>();
  private sharedCount = 0;
  private bytes = 0;

  /** share: send buffers come from comm.allocShared when the backend has it. */
  constructor(private readonly comm: Communicator, private readonly share = true) {}

  take(wire: WireDtype, n: number, use: 'send' | 'recv', zeroed = false): WireBuffer {
    const key = `${wire}:${n}:${use}`;
    const buf = this.idle.get(key)?.pop();
    if (buf) {
      if (zeroed) buf.fill(0);
      this.busy.add(buf);
      return buf;
    }
    const made = this.make(wire, n, use);
    this.keyOf.set(made, key);
    this.busy.add(made);
    this.bytes += made.byteLength;
    return made;
  }

  give(buf: WireBuffer): void {
    const key = this.keyOf.get(buf);
    if (key === undefined || !this.busy.delete(buf)) {
      throw new Error('PayloadPool.give: the buffer was not taken from this pool, or was given back already');
    }
    const list = this.idle.get(key);
    if (list) list.push(buf);
    else this.idle.set(key, [buf]);
  }

  stats(): WirePoolStats {
    return { buffers: this.keyOf.size, shared: this.sharedCount, inUse: this.busy.size, bytes: this.bytes };
  }

  /** Whether buf is one of this pool's shared (allocShared) buffers. */
  isShared(buf: Payload): boolean {
    return this.keyOf.has(buf) && typeof SharedArrayBuffer !== 'undefined' && buf.buffer instanceof SharedArrayBuffer;
  }

  /**
   * Frees the idle buffers (shared ones through comm.freeShared). Buffers still taken stay with
   * their holder and are dropped when given back.
   */
  dispose(): void {
    for (const list of this.idle.values()) {
      for (const buf of list) {
        if (buf.buffer instanceof SharedArrayBuffer && this.comm.freeShared) {
          this.comm.freeShared(buf);
          this.sharedCount--;
        }
        this.bytes -= buf.byteLength;
        this.keyOf.delete(buf);
      }
    }
    this.idle.clear();
  }

  private make(wire: WireDtype, n: number, use: 'send' | 'recv'): WireBuffer {
    // An empty buffer carries nothing, so it is not worth announcing to every peer.
    if (use === 'send' && this.share && this.comm.allocShared && n > 0) {
      this.sharedCount++;
      return this.comm.allocShared(n, wire) as WireBuffer;
    }
    return wireAlloc(wire, n);
  }
}
