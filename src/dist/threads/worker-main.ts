// Entry of every rank's worker thread: joins the job, runs the user's entry module's main(comm,
// args), and reports the result or the error to the launcher. A rank that fails sets the abort
// word first, so ranks blocked in collectives stop waiting for it at once.
import { parentPort, workerData } from 'node:worker_threads';
import type { Communicator } from '../communicator.js';
import { serializeError, type WorkerInit, type WorkerReport } from './protocol.js';
import { ThreadsCommunicator } from './threads-communicator.js';

type Main = (comm: Communicator, args: unknown) => unknown;


async function run(init: WorkerInit): Promise<WorkerReport> {
  const comm = new ThreadsCommunicator(init.threads);
  try {
    const mod = (await import(init.entry)) as { main?: unknown; default?: unknown };
    const main = mod.main ?? mod.default;
    if (typeof main !== 'function') throw new TypeError(`${init.entry} exports no main(comm, args) function`);
    comm.connect();
    const result: unknown = await (main as Main)(comm, init.args);
    return { kind: 'done', result };
  } catch (e) {
    comm.abort();
    return { kind: 'error', error: serializeError(e) };
  } finally {
    comm.close();
  }
}

if (parentPort) {
  const port = parentPort;
  const report = await run(workerData as WorkerInit);
  try {
    port.postMessage(report);
  } catch (e) {
    // A result that cannot be cloned still has to reach the launcher as an error.
    port.postMessage({ kind: 'error', error: serializeError(e) } satisfies WorkerReport);
  }
}
