// Typed view of the Open MPI part of the native addon (native/mpi*.cc). The addon always loads;
// when it was built without Open MPI it exports only `mpiAvailable: false`, and loadMpiBinding()
// says what to install. MPI starts only on mpiInit(), so loading this in a worker thread or in a
// process that mpirun did not start is harmless.
import { loadNativeAddon } from './binding.js';

/** Element types MPI moves: fp32, fp64, int32, bf16 bit patterns (Uint16Array), bytes. */
export type MpiPayload = Float32Array | Float64Array | Int32Array | Uint16Array | Uint8Array;
/**
 * Element types that reduce. A Uint16Array holds bf16 bits: each combining step of the reduction
 * widens to fp32, adds (or takes the max) and rounds to nearest even.
 */
export type MpiReducible = Float32Array | Float64Array | Int32Array | Uint16Array;
export type MpiReduceOp = 'sum' | 'max';
export type MpiThreadLevel = 'single' | 'funneled' | 'serialized' | 'multiple';
/** Communicator handle: 0 is MPI_COMM_WORLD, others come from mpiCommSplit. */
export type MpiComm = number;
/** Id of a nonblocking operation; complete it with mpiWait or mpiTest exactly once. */
export type MpiRequest = number;

/**
 * The MPI exports. Counts and displacements are in elements and are Int32Arrays with one entry per
 * rank of the communicator; a null displacement array means packed (prefix sums of the counts).
 * Send and receive buffers of one call must have the same type. The communicator argument is last
 * and defaults to world. Every call except mpiInit/mpiInitialized/mpiAbort needs mpiInit() first.
 * Nonblocking forms (mpiI*) keep their typed arrays alive until waited; the caller must not touch
 * them until then.
 */
export interface MpiBinding {
  readonly mpiAvailable: true;
  /** Initialises MPI with MPI_THREAD_MULTIPLE requested; idempotent. */
  mpiInit(): { rank: number; size: number; threadLevel: MpiThreadLevel };
  mpiInitialized(): boolean;
  /** Frees split communicators and finalizes; throws while nonblocking requests are pending. */
  mpiFinalize(): void;
  /** Ends every rank of the job with this exit code (1 by default); never returns. */
  mpiAbort(code?: number): never;
  /** Splits `parent` by color (ordered by key); returns -1 for a negative color (no group). */
  mpiCommSplit(color: number, key: number, parent?: MpiComm): MpiComm;
  mpiCommFree(comm: MpiComm): void;
  mpiCommInfo(comm?: MpiComm): { rank: number; size: number };

  mpiBarrier(comm?: MpiComm): void;
  mpiIbarrier(comm?: MpiComm): MpiRequest;
  mpiBroadcast(buf: MpiPayload, root: number, comm?: MpiComm): void;
  mpiIbroadcast(buf: MpiPayload, root: number, comm?: MpiComm): MpiRequest;
  /** Pass the same array as send and recv to reduce in place. */
  mpiAllReduce<T extends MpiReducible>(send: T, recv: T, op: MpiReduceOp, comm?: MpiComm): void;
  mpiIallReduce<T extends MpiReducible>(send: T, recv: T, op: MpiReduceOp, comm?: MpiComm): MpiRequest;
  /** send.length must equal counts[rank]; send may be recv's own block (in place). */
  mpiAllGatherv<T extends MpiPayload>(
    send: T, recv: T, counts: Int32Array, displs: Int32Array | null, comm?: MpiComm,
  ): void;
  mpiIallGatherv<T extends MpiPayload>(
    send: T, recv: T, counts: Int32Array, displs: Int32Array | null, comm?: MpiComm,
  ): MpiRequest;
  mpiAllToAllv<T extends MpiPayload>(
    send: T, sendCounts: Int32Array, sendDispls: Int32Array | null,
    recv: T, recvCounts: Int32Array, recvDispls: Int32Array | null, comm?: MpiComm,
  ): void;
  mpiIallToAllv<T extends MpiPayload>(
    send: T, sendCounts: Int32Array, sendDispls: Int32Array | null,
    recv: T, recvCounts: Int32Array, recvDispls: Int32Array | null, comm?: MpiComm,
  ): MpiRequest;
  /**
   * recv = this rank's block of the element-wise reduction of every send. counts null: equal
   * blocks, send.length = size * recv.length; otherwise counts sum to send.length.
   */
  mpiReduceScatter<T extends MpiReducible>(
    send: T, recv: T, op: MpiReduceOp, counts: Int32Array | null, comm?: MpiComm,
  ): void;
  mpiIreduceScatter<T extends MpiReducible>(
    send: T, recv: T, op: MpiReduceOp, counts: Int32Array | null, comm?: MpiComm,
  ): MpiRequest;
  /**
   * Sends to `dest` while receiving from `source` (both with `tag`, 0..32767); a null buffer and
   * null peer skip that side. Returns the number of elements received.
   */
  mpiSendRecv<T extends MpiPayload>(
    send: T | null, dest: number | null, recv: T | null, source: number | null, tag: number, comm?: MpiComm,
  ): number;
  mpiIsendRecv<T extends MpiPayload>(
    send: T | null, dest: number | null, recv: T | null, source: number | null, tag: number, comm?: MpiComm,
  ): MpiRequest;

  /** Blocks until the request completes and releases it; throws the operation's MPI error. */
  mpiWait(request: MpiRequest): void;
  /** True (and the request is released) once complete; false while still in flight. */
  mpiTest(request: MpiRequest): boolean;
}

/** What the loaded addon exports when MPI may be missing. */
type MaybeMpi = Partial<Omit<MpiBinding, 'mpiAvailable'>> & { mpiAvailable?: boolean };

export const MPI_INSTALL_HINT =
  'Install Open MPI (apt-get install openmpi-bin libopenmpi-dev), then rebuild the addon ' +
  '(`npm run build:native` or `npm ci`) so that it is configured with mpicc present.';

/** Whether the built addon includes the MPI binding, and if not, why and what to do. */
export function mpiBuildStatus(): { available: true } | { available: false; reason: string } {
  let addon: MaybeMpi;
  try {
    addon = loadNativeAddon() as unknown as MaybeMpi;
  } catch (err: unknown) {
    return { available: false, reason: err instanceof Error ? err.message : String(err) };
  }
  if (addon.mpiAvailable === true) return { available: true };
  return {
    available: false,
    reason: `the native addon was built without Open MPI (mpicc was not found when it was configured). ${MPI_INSTALL_HINT}`,
  };
}

/** The MPI binding; throws an error that says what to install when the addon lacks it. */
export function loadMpiBinding(): MpiBinding {
  const status = mpiBuildStatus();
  if (!status.available) throw new Error(status.reason);
  return loadNativeAddon() as unknown as MpiBinding;
}
