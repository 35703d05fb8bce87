// Program for the MPI group tests: a group without a communicator is refused (not fatal), group
// lists that differ between ranks are refused on every rank, and addGroups then makes the groups
// usable, with members ordered as listed (not by rank).
import type { Communicator } from '../../src/dist/communicator.js';
import { makeGroup } from '../../src/dist/group.js';
import { MpiCommunicator } from '../../src/dist/mpi/mpi-communicator.js';

export interface GroupsResult {
  readonly refused: string;
  readonly disagreed: string;
  /** allGather of every member's global rank over this rank's pair, in group order. */
  readonly gathered: number[];
  readonly members: number[];
}

function message(f: () => void): string {
  try {
    f();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return '';
}

export async function main(comm: Communicator): Promise<GroupsResult> {
  if (!(comm instanceof MpiCommunicator)) throw new TypeError('groups-worker runs on the MPI backend only');
  const P = comm.worldSize;
  // Pairs listed high rank first: [1,0], [3,2], ...; a trailing odd rank is a group of its own.
  const pairs = Array.from({ length: Math.ceil(P / 2) }, (_, k) => [2 * k + 1, 2 * k].filter((r) => r < P));
  const members = pairs.find((p) => p.includes(comm.rank)) as number[];
  const g = makeGroup('pair', members, comm.rank);
  const recv = new Float32Array(members.length);
  const refused = message(() => comm.allGather(Float32Array.of(comm.rank), recv, g));
  const disagreed = message(() => comm.addGroups([[comm.rank]]));
  comm.addGroups(pairs);
  comm.allGather(Float32Array.of(comm.rank), recv, g);
  comm.barrier(comm.world);
  return { refused, disagreed, gathered: Array.from(recv), members };
}
