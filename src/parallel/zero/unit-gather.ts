// The ZeRO-2/3 ParamProvider. ZeRO-3: a unit's parameters are all-gathered from the shards just
// before the model uses them and the buffer is recycled after, while the next unit's all-gather is
// already in flight. Both stages: in backward, each unit's gradient goes to a buffer of its own
// whose reduce-scatter into this rank's gradient shard starts on release and overlaps the rest of
// the backward. Two parameter buffers (current + prefetch; none when the parameters are resident,
// ZeRO-2) and two gradient buffers (filling + reducing) are all that ever exist.
import type { ParamPhase, ParamProvider, ParamViews } from '../../nn/param-provider.js';
import type { ParameterInfo } from '../../nn/parameters.js';
import type { GroupOps, Pending } from './group-ops.js';
import type { ShardLayout } from './layout.js';

interface Slot {
  buf: Float32Array; // [P * maxChunk] a unit in segment-local order
  unit: number; // -1: holds nothing usable
  pending: Pending | null;
  inUse: boolean;
}

interface GradSlot extends Slot {
  recv: Float32Array; // [maxChunk] this rank's chunk of the reduce-scatter
}

/** Where a parameter sits inside its unit's gathered buffer. */
interface Place {
  unit: number;
  at: number;
  size: number;
}

export class UnitGatherProvider implements ParamProvider {
  private readonly slots: Slot[];
  private readonly gradSlots: GradSlot[];
  private readonly places = new Map<string, Place>();
  private gathers = 0;

  /**
   * p, g: this rank's parameter and gradient shards in the layout's order; resident: where every
   * parameter already is (ZeRO-2), or null to gather units from p (ZeRO-3).
   */
  constructor(
    private readonly layout: ShardLayout,
    infos: readonly ParameterInfo[],
    private readonly ops: GroupOps,
    private readonly p: Float32Array,
    private readonly g: Float32Array,
    private readonly resident: ParamViews | null = null,
  ) {
    const maxChunk = Math.max(0, ...layout.segments.map((s) => s.chunk));
    const P = layout.world;
    this.slots = resident ? [] : [0, 1].map(() => ({ buf: new Float32Array(P * maxChunk), unit: -1, pending: null, inUse: false }));
    this.gradSlots = [0, 1].map(() => ({
      buf: new Float32Array(P * maxChunk), recv: new Float32Array(maxChunk), unit: -1, pending: null, inUse: false,
    }));
    const sorted = [...infos].sort((a, b) => a.offset - b.offset);
    layout.segments.forEach((seg, unit) => {
      let local = 0;
      for (const r of seg.ranges) {
        for (const i of sorted) {
          if (i.offset >= r.offset && i.offset < r.offset + r.size) this.places.set(i.name, { unit, at: local + i.offset - r.offset, size: i.size });
        }
        local += r.size;
      }
    });
  }

  /** Bytes of the gather and reduce buffers. */
  get bufferBytes(): number {
    let n = 0;
    for (const s of this.slots) n += s.buf.byteLength;
    for (const s of this.gradSlots) n += s.buf.byteLength + s.recv.byteLength;
    return n;
  }

  /** All-gathers started so far (prefetches included); a unit found still gathered costs none. */
  get gatherCount(): number {
    return this.gathers;
  }

  acquire(unit: number, phase: ParamPhase, next: number | null): ParamViews {
    this.progress();
    const values = this.resident ?? this.gathered(unit, next);
    const grads = phase === 'backward' ? this.gradBuffer(unit) : null;
    return {
      value: (name) => values.value(name),
      grad: (name) => {
        if (!grads) throw new Error(`ZeRO-3: gradient of ${name} asked for outside a backward acquisition of unit ${unit}`);
        return this.view(grads, name, unit);
      },
    };
  }

  release(unit: number, phase: ParamPhase): void {
    this.progress();
    const slot = this.slots.find((s) => s.unit === unit && s.inUse);
    if (slot) slot.inUse = false;
    if (phase !== 'backward') return;
    const gs = this.gradSlots.find((s) => s.unit === unit && s.inUse);
    if (!gs) throw new Error(`ZeRO-3: release of unit ${unit} in backward without its acquisition`);
    const c = this.layout.segment(unit).chunk;
    gs.pending = this.ops.reduceScatterAsync(gs.buf.subarray(0, this.layout.world * c), gs.recv.subarray(0, c));
    gs.inUse = false;
  }

  /** Waits for every gradient reduce-scatter in flight and adds each into the gradient shard. */
  flush(): void {
    for (const gs of this.gradSlots) this.settle(gs);
  }

  /** Waits for everything in flight and forgets gathered units (the shards are about to change). */
  invalidate(): void {
    this.flush();
    for (const s of this.slots) {
      s.pending?.waitSync();
      s.pending = null;
      s.unit = -1;
      s.inUse = false;
    }
  }

  /** Unit's parameters from a gather buffer (waiting for its all-gather), with next's all-gather started. */
  private gathered(unit: number, next: number | null): { value(name: string): Float32Array } {
    const slot = this.slots.find((s) => s.unit === unit) ?? this.startGather(this.freeSlot(), unit);
    slot.pending?.waitSync();
    slot.pending = null;
    slot.inUse = true;
    if (next !== null && next !== unit && !this.slots.some((s) => s.unit === next)) this.startGather(this.freeSlot(), next);
    return { value: (name) => this.view(slot.buf, name, unit) };
  }

  /** Nudges every operation in flight: MPI moves nonblocking collectives only inside its calls. */
  private progress(): void {
    for (const s of this.slots) s.pending?.test();
    for (const s of this.gradSlots) s.pending?.test();
  }

  private freeSlot(): Slot {
    const slot = this.slots.find((s) => !s.inUse);
    if (!slot) throw new Error('ZeRO-3: both parameter buffers are in use; release a unit before acquiring another');
    slot.pending?.waitSync(); // a prefetch nobody asked for: let it land before its buffer is reused
    slot.pending = null;
    return slot;
  }

  private startGather(slot: Slot, unit: number): Slot {
    const seg = this.layout.segment(unit);
    const send = this.p.subarray(seg.shardOffset, seg.shardOffset + seg.chunk);
    slot.pending = this.ops.allGatherAsync(send, slot.buf.subarray(0, this.layout.world * seg.chunk));
    slot.unit = unit;
    this.gathers++;
    return slot;
  }

  /** A zeroed gradient buffer for unit (its slot's earlier reduce-scatter settled first). */
  private gradBuffer(unit: number): Float32Array {
    const gs = this.gradSlots.find((s) => !s.inUse && s.pending === null) ?? this.gradSlots.find((s) => !s.inUse);
    if (!gs) throw new Error('ZeRO-3: both gradient buffers are in use; release a unit before acquiring another');
    this.settle(gs);
    const n = this.layout.world * this.layout.segment(unit).chunk;
    gs.buf.fill(0, 0, n);
    gs.unit = unit;
    gs.inUse = true;
    return gs.buf;
  }

  private settle(gs: GradSlot): void {
    if (!gs.pending) return;
    gs.pending.waitSync();
    gs.pending = null;
    const seg = this.layout.segment(gs.unit);
    const g = this.g;
    const r = gs.recv;
    for (let t = 0, o = seg.shardOffset; t < seg.chunk; t++, o++) g[o] = (g[o] as number) + (r[t] as number);
  }

  private view(buf: Float32Array, name: string, unit: number): Float32Array {
    const place = this.places.get(name);
    if (!place || place.unit !== unit) throw new Error(`ZeRO-3: ${name} is not a parameter of unit ${unit}`);
    return buf.subarray(place.at, place.at + place.size);
  }
}
