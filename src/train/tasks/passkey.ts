// Passkey retrieval: a random 5-digit key hidden in the filler ("pass key:12345. "), asked for at
// the end ("What is the pass key? pass key:"); the answer is the key's digits. The colon occurs
// only in these two places, so the first digit is the byte after the earlier colon.
import type { Rng } from '../rng.js';
import { ascii, fillerOffset, layout, randomString, type TaskGenerator, type TaskSample } from './task-sample.js';

const QUESTION = ascii('What is the pass key? pass key:');

export class PasskeyTask implements TaskGenerator {
  readonly name = 'passkey';
  readonly minLength: number;

  constructor(readonly digits = 5) {
    this.minLength = this.needle('0'.repeat(digits)).length + QUESTION.length + digits - 1;
  }

  private needle(key: string): Uint8Array {
    return ascii(`pass key:${key}. `);
  }

  sample(rng: Rng, T: number, depth: number): TaskSample {
    const key = randomString(rng, this.digits, '0123456789');
    const needle = this.needle(key);
    const filler = T + 1 - needle.length - QUESTION.length - this.digits;
    const { bytes, starts } = layout(rng, T, [{ needle, fillerBefore: fillerOffset(depth, filler) }], QUESTION, ascii(key));
    return { bytes, answerStart: T + 1 - this.digits, needleStart: starts[0] as number };
  }
}
