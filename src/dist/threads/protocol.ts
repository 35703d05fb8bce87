// Messages between the launcher and the worker threads of a threads job.
import type { ThreadsInit } from './threads-communicator.js';

export interface WorkerInit {
  readonly threads: ThreadsInit;
  /** file: URL of the module exporting main (or a default function). */
  readonly entry: string;
  readonly args: unknown;
}

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

export type WorkerReport =
  | { readonly kind: 'done'; readonly result: unknown }
  | { readonly kind: 'error'; readonly error: SerializedError };

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  return e.stack === undefined ? { name: e.name, message: e.message } : { name: e.name, message: e.message, stack: e.stack };
}

