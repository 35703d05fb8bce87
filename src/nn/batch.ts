// A model's private copy of the last batch: checked once against the config, then kept for
// backward, so a data loader may reuse its own buffers right after forward returns.
//
// Shape legend: B = batch, T = local sequence length, N = B*T.
import type { TokenBatch } from './causal-lm.js';
import type { ModelConfig } from './model-config.js';

function checkLength(name: string, arr: ArrayLike<number> | null, N: number, B: number, T: number): void {
  if (arr && arr.length !== N) throw new Error(`batch: ${name} has ${arr.length} elements; expected B*T = ${B}*${T} = ${N}`);
}

/** Throws an Error naming the first field of batch that does not fit config. */
export function checkBatch(config: ModelConfig, batch: TokenBatch): void {
  const { B, T } = batch;
  if (!Number.isInteger(B) || B <= 0) throw new Error(`batch: B is ${B}; must be a positive integer`);
  if (!Number.isInteger(T) || T <= 0) throw new Error(`batch: T is ${T}; must be a positive integer`);
  if (T > config.max_seq_len) throw new Error(`batch: T = ${T} exceeds max_seq_len = ${config.max_seq_len}`);
  const N = B * T;
  checkLength('tokens', batch.tokens, N, B, T);
  checkLength('positions', batch.positions, N, B, T);
  checkLength('targets', batch.targets, N, B, T);
  checkLength('docIds', batch.docIds, N, B, T);
  const V = config.vocab_size;
  for (let i = 0; i < N; i++) {
    const tok = batch.tokens[i] as number;
    if (!(tok >= 0 && tok < V)) throw new Error(`batch: tokens[${i}] = ${tok} is outside the vocabulary [0, ${V})`);
    const pos = batch.positions[i] as number;
    if (!(pos >= 0 && pos < config.max_seq_len)) {
      throw new Error(`batch: positions[${i}] = ${pos} is outside [0, max_seq_len = ${config.max_seq_len})`);
    }
  }
  const targets = batch.targets;
  if (targets) {
    for (let i = 0; i < N; i++) {
      const t = targets[i] as number;
      if (t >= V) throw new Error(`batch: targets[${i}] = ${t} is outside the vocabulary [0, ${V}) (negative = ignored)`);
    }
  }
}

export class BatchCopy {
  B = 0;
  T = 0;
  tokens = new Int32Array(0); // [B, T]
  positions = new Int32Array(0); // [B, T]
  targets = new Int32Array(0); // [B, T], valid when hasTargets
  docIdsBuf = new Int32Array(0); // [B, T], valid when hasDocIds
  hasTargets = false;
  hasDocIds = false;
  /** Tokens with a target (target >= 0). */
  count = 0;

  /** Checks batch against config and copies it, reallocating only when B*T grows or shrinks. */
  load(config: ModelConfig, batch: TokenBatch): void {
    checkBatch(config, batch);
    const N = batch.B * batch.T;
    if (this.tokens.length !== N) {
      this.tokens = new Int32Array(N);
      this.positions = new Int32Array(N);
      this.targets = new Int32Array(N);
      this.docIdsBuf = new Int32Array(N);
    }
    this.B = batch.B;
    this.T = batch.T;
    this.tokens.set(batch.tokens);
    this.positions.set(batch.positions);
    this.hasTargets = batch.targets !== null;
    this.count = 0;
    if (batch.targets) {
      this.targets.set(batch.targets);
      for (let i = 0; i < N; i++) if ((batch.targets[i] as number) >= 0) this.count++;
    }
    this.hasDocIds = batch.docIds !== null;
    if (batch.docIds) this.docIdsBuf.set(batch.docIds);
  }

  /** [B, T] document ids for the attention mask, or null. */
  get docIds(): Int32Array | null {
    return this.hasDocIds ? this.docIdsBuf : null;
  }
}
