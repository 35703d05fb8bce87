// Copying from far back: a span of random lowercase letters between "<<" and ">>" hidden in the
// filler, and at the end "Repeat it: <<"; the answer is the whole span.
import type { Rng } from '../rng.js';
import { ascii, fillerOffset, layout, randomString, type TaskGenerator, type TaskSample } from './task-sample.js';

const QUESTION = ascii('Repeat it: <<');

export class CopySpanTask implements TaskGenerator {
  readonly name = 'copy';
  readonly minLength: number;

  constructor(readonly spanLength = 16) {
    this.minLength = spanLength + 5 + QUESTION.length + spanLength - 1;
  }

  sample(rng: Rng, T: number, depth: number): TaskSample {
    const span = randomString(rng, this.spanLength, 'abcdefghijklmnopqrstuvwxyz');
    const needle = ascii(`<<${span}>> `);
    const filler = T + 1 - needle.length - QUESTION.length - this.spanLength;
    const { bytes, starts } = layout(rng, T, [{ needle, fillerBefore: fillerOffset(depth, filler) }], QUESTION, ascii(span));
    return { bytes, answerStart: T + 1 - this.spanLength, needleStart: starts[0] as number };
  }
}
