/**
 * Pure measures of an overlay, checked against slow obvious models: the ring against the sorted
 * array of all live addresses, nearest-mode delivery against a brute-force closest node.
 *
 * @module
 */
import { RING_SIZE } from "../../lib/overlay/address.ts";
import { compareCloseness } from "../../lib/overlay/ring.ts";

/** One live node as the consistency check sees it: its address and its connections' addresses. */
export interface RingView {
  readonly address: bigint;
  readonly connected: Iterable<bigint>;
}

/** The outcome of `ringConsistency`. */
export interface ConsistencyResult {
  /** Live nodes checked. */
  readonly total: number;
  /** Nodes whose nearest connection on each side is their true successor and predecessor. */
  readonly consistent: number;
  /** `consistent / total` (1 for an empty ring). */
  readonly fraction: number;
  /** Indexes (into the input) of up to `maxReported` inconsistent nodes, in input order. */
  readonly inconsistent: number[];
}

/** Sorts addresses ascending (a fresh array). */
export function sortAddresses(addresses: Iterable<bigint>): bigint[] {
  return [...addresses].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Ring consistency: for every node, its nearest connected address clockwise must be its true
 * successor among the live addresses, and its nearest connected address counter-clockwise its
 * true predecessor. Connections to nodes that are not live still count as connections (a stale
 * link to a departed node nearer than the true neighbour is an inconsistency). A lone node is
 * consistent. Addresses must be distinct. O(N log N + total connections).
 */
export function ringConsistency(nodes: readonly RingView[], maxReported = 20): ConsistencyResult {
  const n = nodes.length;
  const sorted = sortAddresses(nodes.map((v) => v.address));
  const rank = new Map<bigint, number>();
  sorted.forEach((a, i) => rank.set(a, i));
  if (rank.size !== n) throw new RangeError("ringConsistency needs distinct addresses");
  let consistent = 0;
  const inconsistent: number[] = [];
  nodes.forEach((view, index) => {
    const self = view.address;
    const r = rank.get(self)!;
    const succ = sorted[(r + 1) % n]!;
    const pred = sorted[(r - 1 + n) % n]!;
    const sides = nearestConnectedSides(self, view.connected);
    const ok = n === 1 || (sides.clockwise === succ && sides.counterClockwise === pred);
    if (ok) consistent++;
    else if (inconsistent.length < maxReported) inconsistent.push(index);
  });
  return { total: n, consistent, fraction: n === 0 ? 1 : consistent / n, inconsistent };
}

/** The nearest address on each side of `self` among `connected` (self ignored), or null. */
export function nearestConnectedSides(
  self: bigint,
  connected: Iterable<bigint>,
): { clockwise: bigint | null; counterClockwise: bigint | null } {
  let cw: bigint | null = null;
  let cwDist = RING_SIZE;
  let ccw: bigint | null = null;
  let ccwDist = RING_SIZE;
  for (const c of connected) {
    if (c === self) continue;
    let d = c - self;
    if (d < 0n) d += RING_SIZE;
    if (d < cwDist) {
      cwDist = d;
      cw = c;
    }
    const back = RING_SIZE - d;
    if (back < ccwDist) {
      ccwDist = back;
      ccw = c;
    }
  }
  return { clockwise: cw, counterClockwise: ccw };
}

/**
 * The live node a "nearest"-mode message to `key` must reach: the closest address in
 * `compareCloseness` order (ties go clockwise of the key). `sorted` is ascending and non-empty.
 */
export function bruteNearest(sorted: readonly bigint[], key: bigint): bigint {
  if (sorted.length === 0) throw new RangeError("bruteNearest needs at least one address");
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  const after = sorted[lo % sorted.length]!;
  const before = sorted[(lo - 1 + sorted.length) % sorted.length]!;
  return compareCloseness(key, after, before) <= 0 ? after : before;
}

/** Summary of a list of hop counts. */
export interface HopStats {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** The nearest-rank `p`-th percentile (0 < p <= 100) of an ascending list; NaN when empty. */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return NaN;
  const rankIndex = Math.ceil((p / 100) * sortedAscending.length) - 1;
  return sortedAscending[Math.min(sortedAscending.length - 1, Math.max(0, rankIndex))]!;
}

/** `percentile` of numbers in any order (a sorted copy is made). */
export function percentileOf(values: readonly number[], p: number): number {
  return percentile([...values].sort((a, b) => a - b), p);
}

/** Mean, median, 99th percentile and maximum of `hops` (NaN fields when empty). */
export function hopStats(hops: readonly number[]): HopStats {
  const sorted = [...hops].sort((a, b) => a - b);
  const sum = sorted.reduce((s, h) => s + h, 0);
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? NaN : sum / sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
  };
}
