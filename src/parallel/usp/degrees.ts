// The two degrees of hybrid Ulysses x ring sequence parallelism (USP): sp = U·R ranks, ulysses
// degree U inside (consecutive sequence-parallel indices), ring degree R outside, and the checks
// that refuse sizes the layout cannot hold, naming the sizes that would work.
//
// Shape legend: N = full sequence, H / Hkv = query / kv heads, sp = sequence-parallel size.
import { RingConfigError } from '../ring/zigzag.js';

export interface UspDegrees {
  /** Ulysses degree: ranks of one ulysses group (all-to-all over heads). */
  readonly ulysses: number;
  /** Ring degree: ranks of one ring group (k/v blocks passed around). */
  readonly ring: number;
}

function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
}

/**
 * U and R for sp ranks: R = ringSize, or with "auto" the smallest R whose ulysses degree sp / R
 * divides Hkv (so every ulysses rank gets whole kv heads and no kv head is sent twice) among those
 * that fit sequences of N tokens and H heads (checkUspSizes), else the smallest R that fits.
 * Without H and N every R fits; training resolves with both (ringSizeOf in src/train/config.ts).
 */
export function uspDegrees(sp: number, ringSize: number | 'auto', Hkv: number, H?: number, N?: number): UspDegrees {
  if (ringSize === 'auto') {
    const fits = (R: number): boolean => {
      if (H === undefined || N === undefined) return true;
      try {
        checkUspSizes(N, { ulysses: sp / R, ring: R }, H, Hkv);
        return true;
      } catch {
        return false;
      }
    };
    const all = divisors(sp);
    const R = all.find((r) => Hkv % (sp / r) === 0 && fits(r)) ?? all.find(fits) ?? all.find((r) => Hkv % (sp / r) === 0) ?? sp;
    return { ulysses: sp / R, ring: R };
  }
  if (!Number.isInteger(ringSize) || ringSize < 1 || sp % ringSize !== 0) {
    throw new RingConfigError(
      `hybrid attention: sequence_parallel.ring_size (${ringSize}) must divide sequence_parallel_size (${sp}); ` +
        `use one of ${divisors(sp).join(', ')} or "auto"`,
    );
  }
  return { ulysses: sp / ringSize, ring: ringSize };
}

/** Refuses a hybrid U x R layout for sequences of N tokens and H / Hkv heads that cannot work. */
export function checkUspSizes(N: number, d: UspDegrees, H: number, Hkv: number): void {
  const { ulysses: U, ring: R } = d;
  if (!Number.isInteger(H) || !Number.isInteger(Hkv) || H < 1 || Hkv < 1 || H % Hkv !== 0) {
    throw new RingConfigError(`hybrid attention: n_kv_heads (${Hkv}) must be a positive integer dividing n_heads (${H})`);
  }
  if (U > H) {
    const ok = divisors(U * R).filter((r) => (U * R) / r <= H);
    throw new RingConfigError(
      `hybrid attention: ulysses degree ${U} (sequence_parallel_size ${U * R} / ring_size ${R}) exceeds n_heads = ${H}, ` +
        `so some rank would hold no attention head; use a ring_size in ${ok.join(', ')}`,
    );
  }
  if (!Number.isInteger(N) || N % (2 * R) !== 0 || N < 2 * R) {
    const ok = divisors(U * R).filter((r) => N % (2 * r) === 0 && (U * R) / r <= H);
    throw new RingConfigError(
      `hybrid attention: the zigzag layout cuts the sequence into 2 x ring_size = ${2 * R} equal chunks, but the sequence ` +
        `length ${N} is not a multiple of ${2 * R}; use a sequence length divisible by ${2 * R}` +
        (ok.length ? ` or a ring_size in ${ok.join(', ')}` : ''),
    );
  }
  if (N / R < U) {
    throw new RingConfigError(
      `hybrid attention: a ring member's ${N / R} tokens cannot be split over ulysses degree ${U}; use a longer sequence or a larger ring_size`,
    );
  }
}

/**
 * The ulysses and ring degrees of sp sequence-parallel ranks in mode "ring" (a ring of sp, no
 * Ulysses; ringSize must be "auto" or sp) or "hybrid" (uspDegrees), after checking that the
 * layout works for sequences of N tokens with H / Hkv heads.
 */
export function ringModeDegrees(
  mode: 'ring' | 'hybrid', sp: number, ringSize: number | 'auto', N: number, H: number, Hkv: number,
): UspDegrees {
  if (mode === 'ring') {
    if (ringSize !== 'auto' && ringSize !== sp) {
      throw new RingConfigError(
        `sequence_parallel.mode "ring" passes k/v around all sequence_parallel_size = ${sp} ranks, so sequence_parallel.ring_size ` +
          `must be "auto" or ${sp}, got ${ringSize}; use mode "hybrid" for a smaller ring with Ulysses inside`,
      );
    }
    if (N % (2 * sp) !== 0) {
      const ok = divisors(N).filter((p) => N % (2 * p) === 0 && p > 1);
      throw new RingConfigError(
        `sequence_parallel.mode "ring" cuts data.seq_len (${N}) into 2 x sequence_parallel_size = ${2 * sp} equal zigzag chunks; ` +
          `use a data.seq_len divisible by ${2 * sp} or a sequence_parallel_size in ${ok.length ? ok.join(', ') : '(none: seq_len is odd)'} ` +
          `(at most seq_len / 2 = ${Math.floor(N / 2)})`,
      );
    }
    return { ulysses: 1, ring: sp };
  }
  const d = uspDegrees(sp, ringSize, Hkv, H, N);
  checkUspSizes(N, d, H, Hkv);
  return d;
}
