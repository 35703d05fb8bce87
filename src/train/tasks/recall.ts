// Multi-key associative recall: several "[key: value] " pairs (4 random lowercase letters, 5
// digits) scattered through the filler, one key asked for at the end ("Which value? [key: ");
// the answer is that key's value. The queried pair sits at the requested depth, the others at
// random depths.
import type { Rng } from '../rng.js';
import { ascii, fillerOffset, layout, randomString, type Placement, type TaskGenerator, type TaskSample } from './task-sample.js';

const KEY_LETTERS = 4;
const VALUE_DIGITS = 5;

export class RecallTask implements TaskGenerator {
  readonly name = 'recall';
  readonly minLength: number;

  constructor(readonly pairs = 4) {
    const pair = `[${'k'.repeat(KEY_LETTERS)}: ${'0'.repeat(VALUE_DIGITS)}] `.length;
    this.minLength = pairs * pair + `Which value? [${'k'.repeat(KEY_LETTERS)}: `.length + VALUE_DIGITS - 1;
  }

  sample(rng: Rng, T: number, depth: number): TaskSample {
    const keys: string[] = [];
    while (keys.length < this.pairs) {
      const k = randomString(rng, KEY_LETTERS, 'abcdefghijklmnopqrstuvwxyz');
      if (!keys.includes(k)) keys.push(k);
    }
    const values = keys.map(() => randomString(rng, VALUE_DIGITS, '0123456789'));
    const needles = keys.map((k, i) => ascii(`[${k}: ${values[i] as string}] `));
    const question = ascii(`Which value? [${keys[0] as string}: `);
    const filler = T + 1 - needles.reduce((s, n) => s + n.length, 0) - question.length - VALUE_DIGITS;
    // The queried pair (index 0) goes first in the list, so it stays before any pair drawn at the same offset.
    const placements: Placement[] = needles.map((needle, i) => ({
      needle, fillerBefore: i === 0 ? fillerOffset(depth, filler) : rng.int(filler + 1),
    }));
    const { bytes, starts } = layout(rng, T, placements, question, ascii(values[0] as string));
    return { bytes, answerStart: T + 1 - VALUE_DIGITS, needleStart: starts[0] as number };
  }
}
