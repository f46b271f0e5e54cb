/**
 * The slow obvious model of ring consistency, for checking real agents from the outside: given every
 * live node's overlay address and the addresses of its up connections (as `ipop status --json`
 * shows them), each node's nearest connection clockwise must be its true successor among the live
 * nodes, and its nearest connection counter-clockwise its true predecessor.
 *
 * Deliberately independent of `lib/overlay/ring.ts` (a model should not share the code it checks):
 * addresses are 40 hex digits read as BigInt, distances are taken mod 2^160. Connections to
 * addresses that are not live (dead or unknown nodes) are ignored by the verdict and listed apart as
 * `stale`. Pure and total: bad input gives a `TypeError`.
 */

/** Size of the ring: addresses are 160-bit numbers. */
export const RING_MODULUS = 1n << 160n;

/** What the check needs of one node's status. */
export interface RingNodeView {
  /** The node's overlay address, 40 hex digits (case ignored). */
  address: string;
  /** Its up connections: `address` (40 hex digits) and, when status gives it, `kind`. */
  connections: readonly { address: string; kind?: string }[];
}

/** Options of `checkRing`. */
export interface RingCheckOptions {
  /**
   * When set, a node is consistent only if the connections to its true successor and predecessor
   * also have this kind (e.g. "near": the node itself counts them as its ring neighbours).
   */
  neighbourKind?: string;
}

/** One node whose neighbours are wrong, with what was expected and found (null: none). */
export interface RingProblem {
  /** The node, lower-case hex. */
  address: string;
  expectedSuccessor: string;
  actualSuccessor: string | null;
  expectedPredecessor: string;
  actualPredecessor: string | null;
  /** The kinds of the connections to the actual successor and predecessor (null: none). */
  successorKind: string | null;
  predecessorKind: string | null;
}

/** The verdict on a set of nodes. */
export interface RingCheckResult {
  /** True when every node is consistent. */
  consistent: boolean;
  /** Live addresses in ring order (ascending), lower-case hex. */
  ring: string[];
  /** The inconsistent nodes, in ring order. */
  problems: RingProblem[];
  /**
   * Connections to addresses that are not live (e.g. crashed nodes not yet noticed), as
   * `{ address, peer }`, in ring order of `address`. They do not affect `consistent`.
   */
  stale: { address: string; peer: string }[];
}

const HEX_ADDRESS = /^[0-9a-f]{40}$/;

function parseAddress(text: string): bigint {
  const hex = text.toLowerCase();
  if (!HEX_ADDRESS.test(hex)) throw new TypeError(`Bad overlay address: ${JSON.stringify(text)}`);
  return BigInt(`0x${hex}`);
}

function toHex(a: bigint): string {
  return a.toString(16).padStart(40, "0");
}

/** Distance going clockwise (increasing addresses, wrapping) from `from` to `to`. */
export function clockwiseDistance(from: bigint, to: bigint): bigint {
  return ((to - from) % RING_MODULUS + RING_MODULUS) % RING_MODULUS;
}

/**
 * Checks every node of `views` against the sorted ring of their addresses. A lone node is
 * consistent. Throws `TypeError` on a malformed or duplicate node address.
 */
export function checkRing(
  views: readonly RingNodeView[],
  options: RingCheckOptions = {},
): RingCheckResult {
  const live = views.map((v) => parseAddress(v.address));
  const linked = views.map((v) =>
    v.connections.map((c) => ({ peer: parseAddress(c.address), kind: c.kind ?? null }))
  );
  const liveSet = new Set(live);
  if (liveSet.size !== live.length) throw new TypeError("Duplicate node address");
  const ring = [...live].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const problems: RingProblem[] = [];
  const stale: { address: string; peer: string }[] = [];
  for (const [i, self] of ring.entries()) {
    const peers = linked[live.indexOf(self)]!;
    for (const { peer } of peers) {
      if (!liveSet.has(peer)) stale.push({ address: toHex(self), peer: toHex(peer) });
    }
    if (ring.length === 1) continue;
    const expectedSucc = ring[(i + 1) % ring.length]!;
    const expectedPred = ring[(i - 1 + ring.length) % ring.length]!;
    let succ: bigint | null = null;
    let pred: bigint | null = null;
    let succKind: string | null = null;
    let predKind: string | null = null;
    for (const { peer, kind } of peers) {
      if (peer === self || !liveSet.has(peer)) continue;
      if (succ === null || clockwiseDistance(self, peer) < clockwiseDistance(self, succ)) {
        succ = peer;
        succKind = kind;
      }
      if (pred === null || clockwiseDistance(peer, self) < clockwiseDistance(pred, self)) {
        pred = peer;
        predKind = kind;
      }
    }
    const want = options.neighbourKind;
    const kindsOk = want === undefined || (succKind === want && predKind === want);
    if (succ !== expectedSucc || pred !== expectedPred || !kindsOk) {
      problems.push({
        address: toHex(self),
        expectedSuccessor: toHex(expectedSucc),
        actualSuccessor: succ === null ? null : toHex(succ),
        expectedPredecessor: toHex(expectedPred),
        actualPredecessor: pred === null ? null : toHex(pred),
        successorKind: succKind,
        predecessorKind: predKind,
      });
    }
  }
  return { consistent: problems.length === 0, ring: ring.map(toHex), problems, stale };
}
