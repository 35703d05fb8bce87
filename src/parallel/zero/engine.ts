// The contract between the trainer and whoever holds the model states (parameters, gradients,
// AdamW moments): replicated on every rank (stage 0) or sharded over the dp × sp group (ZeRO
// stages 1 to 3). The trainer runs forward and backward, then asks the engine to reduce the
// gradients (which returns the global norm for clipping) and to take the AdamW step.

export type ZeroStage = 0 | 1 | 2 | 3;

/** The flat vectors a consolidated checkpoint holds, each in the ParameterStore's flat layout. */
export type StateVector = 'params' | 'grads' | 'exp_avg' | 'exp_avg_sq';

/** Whole-model state, layout-free: what checkpoints save and what a resumed run slices. */
export interface FullModelState {
  params: Float32Array;
  exp_avg: Float32Array;
  exp_avg_sq: Float32Array;
}

/** Bytes this rank holds for each kind of model state. */
export interface ModelStateMemory {
  params: number;
  grads: number;
  optimizer: number;
  /** Buffers that exist only to communicate model states (ZeRO-3 gather and reduce buffers). */
  comm: number;
}

export interface ModelStateEngine {
  readonly stage: ZeroStage;
  /** Members of the group the states are summed (stage 0) or sharded (stages 1-3) over. */
  readonly groupSize: number;
  /** AdamW updates done (bias correction uses the next one). */
  optimizerStep: number;
  /** Before a step's first micro-batch: gradient accumulators to zero. */
  zeroGrads(): void;
  /** After a step's last backward: sums gradients over the group; returns the global L2 norm. */
  reduceGradients(): number;
  /** AdamW with lr on gradients times gradScale (the clipping factor); leaves what the model reads current. */
  step(lr: number, gradScale: number): void;
  /**
   * Collective (every rank calls it, in the same order): the whole of one state vector, returned
   * where keep is true (other ranks get null). Grads are the reduced ones, valid after reduceGradients.
   */
  fullVector(kind: StateVector, keep: boolean): Float32Array | null;
  /** Takes this rank's part of a whole-model state (every rank passes the same) and the step count. */
  loadFull(state: FullModelState, step: number): void;
  memory(): ModelStateMemory;
}
