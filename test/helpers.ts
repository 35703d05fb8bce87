// Shared test utilities: a seeded random generator and error measures with readable failures.
import assert from 'node:assert/strict';

/** Deterministic PRNG (mulberry32) so a failing case can be rerun exactly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [-scale, scale). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

/** Relative L2 error ||a - b|| / max(||b||, tiny). */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'relL2: lengths differ');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    num += d * d;
    den += (b[i] as number) * (b[i] as number);
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Fails with the tensor name, the error and the worst element when relL2(actual, expected) > tol. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, name: string): void {
  const err = relL2(actual, expected);
  if (!(err <= tol)) {
    let worst = 0;
    let at = 0;
    for (let i = 0; i < actual.length; i++) {
      const d = Math.abs((actual[i] as number) - (expected[i] as number));
      if (!(d <= worst)) {
        worst = d;
        at = i;
      }
    }
    assert.fail(
      `${name}: relative L2 error ${err.toExponential(3)} > ${tol} ` +
        `(max |diff| ${worst} at ${at}: ${actual[at]} vs ${expected[at]})`,
    );
  }
}

/**
 * Central finite differences of loss() with respect to every element of x (restored afterwards).
 * Divides by the float32-rounded step actually taken, so the rounding of x + h adds no error.
 */
export function finiteDifference(loss: () => number, x: Float32Array, h: number): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i] as number;
    x[i] = x0 + h;
    const xp = x[i] as number;
    const lp = loss();
    x[i] = x0 - h;
    const xm = x[i] as number;
    const lm = loss();
    x[i] = x0;
    grad[i] = (lp - lm) / (xp - xm);
  }
  return grad;
}

/** Sum of a[i] * b[i] in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'dot: lengths differ');
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}
