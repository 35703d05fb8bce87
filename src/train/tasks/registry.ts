// The task names `data.corpus` ("task:<name>") and `ulysses eval --task` accept, and the checks on
// lengths and depths, each refusal naming what is allowed.
import { ConfigError } from '../errors.js';
import { CopySpanTask } from './copy-span.js';
import { PasskeyTask } from './passkey.js';
import { RecallTask } from './recall.js';
import type { TaskGenerator } from './task-sample.js';

export const TASK_NAMES = ['passkey', 'recall', 'copy'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** The prefix of a `data.corpus` value that names a generated task instead of text. */
export const TASK_CORPUS_PREFIX = 'task:';

export function taskByName(name: string): TaskGenerator {
  switch (name) {
    case 'passkey':
      return new PasskeyTask();
    case 'recall':
      return new RecallTask();
    case 'copy':
      return new CopySpanTask();
    default:
      throw new ConfigError(`unknown task "${name}"; allowed: ${TASK_NAMES.join(', ')}`);
  }
}

/** The task a `data.corpus` value names, or null when it names text or tokens. */
export function taskOfCorpus(corpus: string): TaskGenerator | null {
  if (!corpus.startsWith(TASK_CORPUS_PREFIX)) return null;
  const name = corpus.slice(TASK_CORPUS_PREFIX.length);
  if (!(TASK_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(`data.corpus ${corpus} names an unknown task; allowed: ${TASK_NAMES.map((n) => TASK_CORPUS_PREFIX + n).join(', ')}`);
  }
  return taskByName(name);
}

/** Refuses a sequence length the task's needles, question and answer do not fit in. */
export function checkTaskLength(task: TaskGenerator, T: number, what = 'length'): void {
  if (!Number.isInteger(T) || T < task.minLength) {
    throw new ConfigError(`${what} ${T} is too short for task ${task.name}: it needs at least ${task.minLength} tokens`);
  }
}

/** Refuses a depth outside [0, 1]. */
export function checkDepth(depth: number): void {
  if (!(depth >= 0 && depth <= 1)) throw new ConfigError(`depth ${depth} is outside [0, 1] (0 = start of the context, 1 = just before the question)`);
}
