// What every synthetic long-range task produces: one sequence of T input bytes plus the byte that
// follows the last of them, made of filler text with one or more "needles" hidden in it and a
// question at the end whose answer (the last bytes) can only be read off the needle. Depth is the
// share of the filler that comes before the needle that is asked for: 0 = at the very start,
// 1 = just before the question.
//
// Shape legend: T = input tokens of a sequence; a sample holds T + 1 bytes (inputs, then the
// last answer byte, which is a target only).
import type { Rng } from '../rng.js';

export interface TaskSample {
  /** [T + 1] bytes: filler and needles, the question, then the answer. */
  bytes: Uint8Array;
  /** Index in bytes of the first answer byte; the answer runs to the end. */
  answerStart: number;
  /** Index in bytes of the first byte of the needle that holds the answer. */
  needleStart: number;
}

export interface TaskGenerator {
  /** The name `data.corpus` ("task:<name>") and `ulysses eval --task` use. */
  readonly name: string;
  /** Smallest T a sample fits in (needles, question and answer with no filler). */
  readonly minLength: number;
  /** A sample of T input tokens with the queried needle at `depth` of the filler; draws from rng only. */
  sample(rng: Rng, T: number, depth: number): TaskSample;
}

/**
 * The filler: short sentences repeated, as in the passkey test of Mohtashami and Jaggi (2023). It
 * holds no digits, colons or brackets, so the needles' markers occur nowhere else.
 */
export const FILLER_TEXT = 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ';
const FILLER = new TextEncoder().encode(FILLER_TEXT);

export function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** n random bytes drawn from `alphabet` (a string of ASCII characters). */
export function randomString(rng: Rng, n: number, alphabet: string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)] as string;
  return s;
}

/** A needle to hide: its bytes and where it goes, as a count of filler bytes before it. */
export interface Placement {
  needle: Uint8Array;
  fillerBefore: number;
}

/**
 * Lays out T + 1 bytes: filler (starting at a random point of the sentence cycle) with the needles
 * at their filler offsets (ties keep list order), then `question` and `answer`. Returns the bytes
 * and where each needle starts, in list order.
 */
export function layout(rng: Rng, T: number, placements: readonly Placement[], question: Uint8Array, answer: Uint8Array): { bytes: Uint8Array; starts: number[] } {
  const total = T + 1;
  const fixed = placements.reduce((s, p) => s + p.needle.length, 0) + question.length + answer.length;
  const filler = total - fixed;
  if (filler < 0) throw new RangeError(`layout: ${total} bytes cannot hold ${fixed} bytes of needles, question and answer`);
  const order = placements.map((p, i) => ({ p, i })).sort((a, b) => a.p.fillerBefore - b.p.fillerBefore || a.i - b.i);
  const bytes = new Uint8Array(total);
  const starts = new Array<number>(placements.length).fill(0);
  let phase = rng.int(FILLER.length);
  let at = 0;
  let used = 0;
  const fill = (n: number): void => {
    for (let k = 0; k < n; k++) {
      bytes[at++] = FILLER[phase] as number;
      phase = phase + 1 === FILLER.length ? 0 : phase + 1;
    }
    used += n;
  };
  for (const { p, i } of order) {
    fill(Math.min(p.fillerBefore, filler) - used);
    starts[i] = at;
    bytes.set(p.needle, at);
    at += p.needle.length;
  }
  fill(filler - used);
  bytes.set(question, at);
  at += question.length;
  bytes.set(answer, at);
  return { bytes, starts };
}

/** The filler offset of depth d in [0, 1] when `filler` filler bytes are laid out. */
export function fillerOffset(depth: number, filler: number): number {
  return Math.round(depth * filler);
}
