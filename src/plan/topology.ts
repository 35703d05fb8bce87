// Where a collective's bytes go on a cluster of nodes with gpusPerNode GPUs each (NVLink inside a
// node, InfiniBand between nodes), and how long they take. Ranks are numbered node by node; a
// group is the list of its ranks.
//   all-to-all: a rank sends the same share to every peer, so the share of peers on other nodes
//               goes over InfiniBand; NVLink and the NIC work at once: time = max(intra / NVLink, inter / IB)
//   ring (all-gather, reduce-scatter, ring attention's hops): a rank sends to its ring neighbour;
//               of the ring's edges those between nodes carry their bytes over InfiniBand (the
//               average split is crossing edges / edges), and every step waits for the slowest
//               edge: time = bytes / IB as soon as the ring leaves a node

export interface Topology {
  readonly gpusPerNode: number;
  /** NVLink bytes/s per GPU, one direction, as achieved (peak × efficiency). */
  readonly nvlinkBytesPerS: number;
  /** InfiniBand bytes/s per GPU, one direction, as achieved. */
  readonly ibBytesPerS: number;
}

export interface LinkBytes {
  readonly intra: number;
  readonly inter: number;
}

export interface LinkTraffic extends LinkBytes {
  readonly seconds: number;
}

const nodeOf = (rank: number, t: Topology): number => Math.floor(rank / t.gpusPerNode);

/** Ranks first, first + stride, ... (size of them). */
export function strided(first: number, size: number, stride: number): number[] {
  return Array.from({ length: size }, (_, i) => first + i * stride);
}

/** The bytes member group[0] sends in an all-to-all, split by link, and their time. */
export function allToAllTraffic(group: readonly number[], bytes: number, t: Topology): LinkTraffic {
  const P = group.length;
  if (P <= 1 || bytes === 0) return { intra: 0, inter: 0, seconds: 0 };
  const me = group[0] as number;
  const remote = group.filter((r) => nodeOf(r, t) !== nodeOf(me, t)).length;
  const inter = (bytes * remote) / (P - 1);
  const intra = bytes - inter;
  return { intra, inter, seconds: Math.max(intra / t.nvlinkBytesPerS, inter / t.ibBytesPerS) };
}

/** The bytes a member sends around a ring over the group (in group order), split by link, and their time. */
export function ringTraffic(group: readonly number[], bytes: number, t: Topology): LinkTraffic {
  const P = group.length;
  if (P <= 1 || bytes === 0) return { intra: 0, inter: 0, seconds: 0 };
  let crossing = 0;
  group.forEach((r, i) => {
    if (nodeOf(r, t) !== nodeOf(group[(i + 1) % P] as number, t)) crossing++;
  });
  const inter = (bytes * crossing) / P;
  return { intra: bytes - inter, inter, seconds: bytes / (crossing > 0 ? t.ibBytesPerS : t.nvlinkBytesPerS) };
}

export function addTraffic(...xs: LinkTraffic[]): LinkTraffic {
  return xs.reduce((a, b) => ({ intra: a.intra + b.intra, inter: a.inter + b.inter, seconds: a.seconds + b.seconds }), { intra: 0, inter: 0, seconds: 0 });
}

export function scaleTraffic(x: LinkTraffic, k: number): LinkTraffic {
  return { intra: x.intra * k, inter: x.inter * k, seconds: x.seconds * k };
}
