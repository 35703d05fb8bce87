// Program every rank runs for the random-schedule test: a seeded sequence (the same on every rank,
// as SPMD requires) of collectives on the world, sp and dp groups, with random sizes that keep
// growing and reusing staging buffers, half of them async and completed later in random order by
// await (so the event loop runs mid-job) or by waitSync.
import type { CommHandle, Communicator, Group } from '../../src/dist/communicator.js';
import { makeGrid, rankGroups } from '../../src/dist/grid.js';
import { gridGroupLists } from '../../src/dist/mpi/comm-registry.js';
import { rng } from '../helpers.js';

export interface ScheduleArgs {
  readonly seed: number;
  readonly steps: number;
}

type Check = () => void;

function fail(what: string, step: number, i: number, got: number | undefined, want: number): never {
  throw new Error(`${what} at step ${step}: element ${i} is ${got}, expected ${want}`);
}

/** Starts one collective; returns its handle (null once done) and the check of its result. */
function launch(comm: Communicator, g: Group, kind: number, n: number, async: boolean, step: number): [CommHandle | null, Check] {
  const P = g.ranks.length;
  const me = g.index;
  if (kind === 0) {
    const buf = Float32Array.from({ length: n }, (_, i) => (i % 100) + me);
    const h = async ? comm.allReduceAsync(buf, g) : (comm.allReduce(buf, g), null);
    return [h, () => buf.forEach((v, i) => v === P * (i % 100) + (P * (P - 1)) / 2 || fail('allReduce', step, i, v, 0))];
  }
  if (kind === 1) {
    const send = Float32Array.from({ length: n }, (_, i) => me * 1e6 + i);
    const recv = new Float32Array(n);
    const h = async ? comm.allToAllAsync(send, recv, g) : (comm.allToAll(send, recv, g), null);
    const b = n / P;
    return [h, () => recv.forEach((v, i) => {
      const want = Math.floor(i / b) * 1e6 + me * b + (i % b);
      if (v !== want) fail('allToAll', step, i, v, want);
    })];
  }
  const c = n / P;
  const send = Uint16Array.from({ length: c }, (_, i) => (me * 7919 + i) & 0xffff);
  const recv = new Uint16Array(n);
  const h = async ? comm.allGatherAsync(send, recv, g) : (comm.allGather(send, recv, g), null);
  return [h, () => recv.forEach((v, i) => {
    const want = (Math.floor(i / c) * 7919 + (i % c)) & 0xffff;
    if (v !== want) fail('allGather', step, i, v, want);
  })];
}

/** The groups this program uses, so the MPI backend can create their communicators up front. */
export function groups(world: number): number[][] {
  return gridGroupLists(makeGrid({ dp: 2, sp: world / 2 }));
}

export async function main(comm: Communicator, args: ScheduleArgs): Promise<number> {
  const mine = rankGroups(makeGrid({ dp: 2, sp: comm.worldSize / 2 }), comm.rank);
  const choice = rng(args.seed);
  const pick = (k: number): number => Math.floor(choice() * k);
  const pending: [CommHandle, Check][] = [];
  for (let step = 0; step < args.steps; step++) {
    const g = [comm.world, mine.sp, mine.dp][pick(3)] as Group;
    const n = g.ranks.length * (1 + Math.floor(choice() ** 3 * 6000));
    const [h, check] = launch(comm, g, pick(3), n, choice() < 0.5, step);
    if (h) pending.push([h, check]);
    else check();
    if (pending.length > 0 && choice() < 0.3) {
      const [ph, pc] = pending.splice(pick(pending.length), 1)[0] as [CommHandle, Check];
      if (choice() < 0.5) await ph.wait();
      else ph.waitSync();
      pc();
    }
  }
  for (const [h, check] of pending) {
    await h.wait();
    check();
  }
  return comm.snapshot().total.calls;
}
