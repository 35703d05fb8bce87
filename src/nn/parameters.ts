// All parameters of a model in one flat Float32Array with named views (Hugging Face names),
// and gradients in a second buffer of the same layout. One flat buffer lets the optimizer,
// gradient clipping and ZeRO sharding treat the model as a single vector.

export interface ParameterInfo {
  /** Hugging Face style name, e.g. "h.0.attn.c_attn.weight". */
  name: string;
  shape: number[];
  /** Offset of the first element in the flat buffer. */
  offset: number;
  size: number;
  /** Whether AdamW weight decay applies (matrices yes; norms, biases, embeddings of positions no). */
  decay: boolean;
}

export interface ParameterStoreOptions {
  /** Round the flat buffers up to a multiple of this, so a collective can split them into equal chunks (default 1). */
  padMultiple?: number;
}

export class ParameterStore {
  readonly infos: ParameterInfo[] = [];
  private readonly byName = new Map<string, ParameterInfo>();
  private total = 0;
  private readonly padMultiple: number;
  private dataBuf: Float32Array | null = null; // [paddedNumel]
  private gradBuf: Float32Array | null = null; // [paddedNumel]
  private dataView: Float32Array | null = null; // [numel]
  private gradView: Float32Array | null = null; // [numel]
  private released: string | null = null;

  constructor(opts: ParameterStoreOptions = {}) {
    const m = opts.padMultiple ?? 1;
    if (!Number.isInteger(m) || m < 1) throw new RangeError(`ParameterStore: padMultiple must be a positive integer, got ${m}`);
    this.padMultiple = m;
  }

  /** Declares a parameter; call before finalize(). */
  declare(name: string, shape: number[], decay: boolean): ParameterInfo {
    if (this.dataBuf) throw new Error(`ParameterStore: cannot declare ${name} after finalize()`);
    if (this.byName.has(name)) throw new Error(`ParameterStore: duplicate parameter ${name}`);
    const size = shape.reduce((a, b) => a * b, 1);
    const info: ParameterInfo = { name, shape, offset: this.total, size, decay };
    this.infos.push(info);
    this.byName.set(name, info);
    this.total += size;
    return info;
  }

  /** Allocates the flat data and gradient buffers (zero-filled, padding included). */
  finalize(): void {
    const n = this.paddedNumel;
    this.dataBuf = new Float32Array(n);
    this.gradBuf = new Float32Array(n);
    this.dataView = this.dataBuf.subarray(0, this.total);
    this.gradView = this.gradBuf.subarray(0, this.total);
  }

  get numel(): number {
    return this.total;
  }

  /** numel rounded up to the pad multiple: the length of paddedData and paddedGrads. */
  get paddedNumel(): number {
    return Math.ceil(this.total / this.padMultiple) * this.padMultiple;
  }

  /** Whether the flat buffers exist (false once a sharded owner released them). */
  get hasStorage(): boolean {
    return this.dataBuf !== null;
  }

  private missing(): Error {
    return new Error(this.released ?? 'ParameterStore: finalize() has not been called');
  }

  /** [numel] all parameters. */
  get data(): Float32Array {
    if (!this.dataView) throw this.missing();
    return this.dataView;
  }

  /** [numel] all gradients, same layout as data. */
  get grads(): Float32Array {
    if (!this.gradView) throw this.missing();
    return this.gradView;
  }

  /** [paddedNumel] data with its zero tail. */
  get paddedData(): Float32Array {
    if (!this.dataBuf) throw this.missing();
    return this.dataBuf;
  }

  /** [paddedNumel] gradients with their zero tail. */
  get paddedGrads(): Float32Array {
    if (!this.gradBuf) throw this.missing();
    return this.gradBuf;
  }

  /**
   * Drops both flat buffers, for an owner that keeps parameters elsewhere (ZeRO-3 shards); later
   * access throws `why`. Names, shapes and offsets stay.
   */
  releaseStorage(why: string): void {
    this.dataBuf = this.gradBuf = this.dataView = this.gradView = null;
    this.released = why;
  }

  /** Drops the gradient buffer only, for an owner that keeps gradients elsewhere (ZeRO-2 shards); later access throws `why`. */
  releaseGrads(why: string): void {
    this.gradBuf = this.gradView = null;
    this.released = why;
  }

  info(name: string): ParameterInfo {
    const info = this.byName.get(name);
    if (!info) throw new Error(`ParameterStore: no parameter named ${name}`);
    return info;
  }

  /** View of one parameter's values. */
  value(name: string): Float32Array {
    const i = this.info(name);
    return this.data.subarray(i.offset, i.offset + i.size);
  }

  /** View of one parameter's gradient. */
  grad(name: string): Float32Array {
    const i = this.info(name);
    return this.grads.subarray(i.offset, i.offset + i.size);
  }

  zeroGrads(): void {
    this.paddedGrads.fill(0);
  }
}
