// How a model reaches its weights: one unit at a time (a transformer block, or the embeddings with
// the final norm and output layer), through a provider that may gather the unit from shards just
// before use and release it after. The model stays strategy-free: it only says which unit it needs,
// in which pass, and which unit comes next (so a provider can fetch it while this one computes).
import type { ParameterStore } from './parameters.js';

/** Named views of one unit's parameters and, in a backward pass, of its gradients. */
export interface ParamViews {
  value(name: string): Float32Array;
  /** The gradient to add into; valid between acquire(.., 'backward') and release. */
  grad(name: string): Float32Array;
}

export type ParamPhase = 'forward' | 'backward';

export interface ParamProvider {
  /**
   * The unit's views, valid until release. `next` is the unit this pass needs after it (null at the
   * end of the pass). A backward acquisition's gradients start at zero or at what earlier passes
   * added, as the provider keeps them; the model only adds.
   */
  acquire(unit: number, phase: ParamPhase, next: number | null): ParamViews;
  /** The model is done with the unit for now (in backward: its gradient contributions are complete). */
  release(unit: number, phase: ParamPhase): void;
}

/** The default: every unit is a view of the full ParameterStore, and releasing does nothing. */
export class FullParamProvider implements ParamProvider {
  constructor(private readonly store: ParameterStore) {}
  acquire(): ParamViews {
    return this.store;
  }
  release(): void {}
}
