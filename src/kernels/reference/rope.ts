// Reference rotary position embedding on x[N, H, D] in place, Hugging Face "rotate_half" layout:
// channel i pairs with i + D/2 (i < D/2) and turns by angle pos[n] * theta^(-2i/D).
// N = tokens, H = heads, D = head size (even). Angles and their cos/sin are computed in float64,
// so positions in the hundreds of thousands stay accurate.
import type { Kernels } from '../kernels.js';

/** Rotates every head of every token by +angle (sign 1) or -angle (sign -1). */
function rotate(x: Float32Array, pos: Int32Array, N: number, H: number, D: number, theta: number, sign: number): void {
  if (D % 2 !== 0) throw new RangeError(`rope: head size D = ${D} must be even`);
  const half = D / 2;
  const cos = new Float64Array(half); // [D/2]
  const sin = new Float64Array(half); // [D/2]
  for (let n = 0; n < N; n++) {
    const p = pos[n] as number;
    for (let i = 0; i < half; i++) {
      const angle = p * Math.pow(theta, (-2 * i) / D);
      cos[i] = Math.cos(angle);
      sin[i] = sign * Math.sin(angle);
    }
    for (let h = 0; h < H; h++) {
      const base = (n * H + h) * D;
      for (let i = 0; i < half; i++) {
        const a = x[base + i] as number;
        const b = x[base + i + half] as number;
        const c = cos[i] as number;
        const s = sin[i] as number;
        x[base + i] = a * c - b * s;
        x[base + i + half] = b * c + a * s;
      }
    }
  }
}

export const rope_forward: Kernels['rope_forward'] = (x, pos, N, H, D, theta) => {
  rotate(x, pos, N, H, D, theta, 1);
};

/** The transpose of a rotation is the rotation by the opposite angle. */
export const rope_backward: Kernels['rope_backward'] = (dx, pos, N, H, D, theta) => {
  rotate(dx, pos, N, H, D, theta, -1);
};
