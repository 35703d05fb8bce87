// Starts a planned collective (plan.ts) as one nonblocking MPI call on the group's communicator.
// bf16 sums are widened to fp32 before MPI sees them and rounded once when the request completes,
// because the binding's bf16 MPI op rounds at every combining step.
import type { Payload } from '../communicator.js';
import type { CollectiveCall } from '../plan.js';
import type { MpiBinding, MpiComm, MpiRequest } from '../../kernels/native/mpi-binding.js';
import { bf16ArrayToF32, f32ArrayToBf16 } from '../../tensor/bf16.js';

/** A started call: its request (null when there is nothing to move) and what to do once it completes. */
export interface Started {
  readonly request: MpiRequest | null;
  readonly finish?: () => void;
}

function widen(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  bf16ArrayToF32(out, bits);
  return out;
}

/** send itself, or a copy when it shares memory with recv: MPI refuses overlapping buffers, the contract does not. */
function apart(send: Payload, recv: Payload): Payload {
  if (send.buffer !== recv.buffer || send.length === 0 || recv.length === 0) return send;
  const a = send.byteOffset;
  const b = recv.byteOffset;
  return a < b + recv.byteLength && b < a + send.byteLength ? send.slice() : send;
}

function int32(counts: readonly number[]): Int32Array {
  return Int32Array.from(counts);
}

/** A bf16 sum goes through fp32; max needs no rounding, so the binding's bf16 max is exact. */
function widened(call: CollectiveCall): boolean {
  return call.dtype === 'bf16' && call.reduce === 'sum';
}

/** Starts `call` on communicator `comm`, where this rank is member `me`; `tag` labels sendRecv messages. */
export function startCall(mpi: MpiBinding, call: CollectiveCall, comm: MpiComm, me: number, tag: number): Started {
  const recv = call.recv;
  const send = call.send && recv && call.send !== recv ? apart(call.send, recv) : call.send;
  switch (call.name) {
    case 'allToAll':
    case 'allToAllV':
      return {
        request: mpi.mpiIallToAllv(send as Payload, int32(call.counts), null, recv as Payload, int32(call.recvCounts), null, comm),
      };
    case 'allGather':
      return { request: mpi.mpiIallGatherv(send as Payload, recv as Payload, int32(call.counts), null, comm) };
    case 'reduceScatter': {
      const equal = call.counts.every((c) => c === call.counts[0]);
      const counts = equal ? null : int32(call.counts);
      if (!widened(call)) {
        return { request: mpi.mpiIreduceScatter(send as Payload, recv as Payload, call.reduce, counts, comm) };
      }
      const wideSend = widen(send as Uint16Array);
      const wideRecv = new Float32Array(call.counts[me] as number);
      return {
        request: mpi.mpiIreduceScatter(wideSend, wideRecv, 'sum', counts, comm),
        finish: () => f32ArrayToBf16(recv as Uint16Array, wideRecv),
      };
    }
    case 'allReduce': {
      const buf = recv as Payload; // in place: send is recv
      if (!widened(call)) return { request: mpi.mpiIallReduce(buf, buf, call.reduce, comm) };
      const wide = widen(recv as Uint16Array);
      return { request: mpi.mpiIallReduce(wide, wide, 'sum', comm), finish: () => f32ArrayToBf16(recv as Uint16Array, wide) };
    }
    case 'broadcast':
      return { request: mpi.mpiIbroadcast(recv as Payload, call.peer, comm) };
    case 'sendRecv': {
      const dst = call.peer < 0 ? null : call.peer;
      const src = call.src < 0 ? null : call.src;
      if (dst === null && src === null) return { request: null };
      return { request: mpi.mpiIsendRecv(send, dst, recv, src, tag, comm) };
    }
    case 'barrier':
      return { request: mpi.mpiIbarrier(comm) };
  }
}

/**
 * Starts the count exchange that precedes an allToAllV: member j receives sendCounts[j] from every
 * member, so each rank learns what its peers will send it. Returns the request and where they land.
 */
export function startCountExchange(mpi: MpiBinding, call: CollectiveCall, comm: MpiComm): { request: MpiRequest; incoming: Int32Array } {
  const size = call.counts.length;
  const ones = new Int32Array(size).fill(1);
  const incoming = new Int32Array(size);
  return { request: mpi.mpiIallToAllv(int32(call.counts), ones, null, incoming, ones, null, comm), incoming };
}

/** The first disagreement between what peers send this rank and what it expects, or null. */
export function countMismatch(call: CollectiveCall, incoming: Int32Array, me: number, ranks: readonly number[]): string | null {
  for (let j = 0; j < incoming.length; j++) {
    const sends = incoming[j] as number;
    const expects = call.recvCounts[j] as number;
    if (sends !== expects) {
      return `member ${j} (rank ${ranks[j]}) sends ${sends} elements to member ${me} (rank ${ranks[me]}), which expects ${expects}`;
    }
  }
  return null;
}
