// All parameters of a model in one flat Float32Array with named views (Hugging Face names),
// and gradients in a second buffer of the same layout. One flat buffer lets the optimizer,
// gradient clipping and later ZeRO sharding treat the model as a single vector.

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

export class ParameterStore {
  readonly infos: ParameterInfo[] = [];
  private readonly byName = new Map<string, ParameterInfo>();
  private total = 0;
  private dataBuf: Float32Array | null = null;
  private gradBuf: Float32Array | null = null;

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

  /** Allocates the flat data and gradient buffers (zero-filled). */
  finalize(): void {
    this.dataBuf = new Float32Array(this.total);
    this.gradBuf = new Float32Array(this.total);
  }

  get numel(): number {
    return this.total;
  }

  /** [numel] all parameters. */
  get data(): Float32Array {
    if (!this.dataBuf) throw new Error('ParameterStore: finalize() has not been called');
    return this.dataBuf;
  }

  /** [numel] all gradients, same layout as data. */
  get grads(): Float32Array {
    if (!this.gradBuf) throw new Error('ParameterStore: finalize() has not been called');
    return this.gradBuf;
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
    this.grads.fill(0);
  }
}
