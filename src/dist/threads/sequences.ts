// Per group (distinct member list) of this rank: its mailbox key and the number of its next call.
// Groups with the same members (say sp and ulysses when ring = 1) share one call sequence, as they
// would share one communicator under MPI.
import { groupKey } from './layout.js';
import type { GroupKey } from './mailbox.js';

export interface Sequence {
  readonly key: GroupKey;
  nextSeq: number;
}

export class GroupSequences {
  readonly #byMembers = new Map<string, Sequence>();
  readonly #byKey = new Map<string, string>();

  get(ranks: readonly number[]): Sequence {
    const members = ranks.join(',');
    const known = this.#byMembers.get(members);
    if (known) return known;
    const key = groupKey(ranks);
    const clash = this.#byKey.get(key.join(':'));
    // Two member lists hashing alike would mix their calls; refuse rather than misdeliver.
    if (clash !== undefined) throw new Error(`internal: groups [${clash}] and [${members}] have the same mailbox key`);
    this.#byKey.set(key.join(':'), members);
    const seq: Sequence = { key, nextSeq: 1 };
    this.#byMembers.set(members, seq);
    return seq;
  }
}
