/**
 * Arithmetic on the overlay ring (integers mod 2^160). "Clockwise" means increasing addresses,
 * wrapping from 2^160 - 1 to 0. All functions are pure and total for addresses in range.
 *
 * @module
 */
import { type OverlayAddress, RING_SIZE } from "./address.ts";

const HALF_RING = RING_SIZE >> 1n;

function mod(x: bigint): bigint {
  // Differences of two addresses lie in (-2^160, 2^160): no division needed for those.
  if (x >= 0n) return x < RING_SIZE ? x : x % RING_SIZE;
  if (x > -RING_SIZE) return x + RING_SIZE;
  const r = x % RING_SIZE;
  return r < 0n ? r + RING_SIZE : r;
}

/** (to - from) mod 2^160: how far `to` lies clockwise of `from`, in [0, 2^160). */
export function clockwiseDistance(from: OverlayAddress, to: OverlayAddress): bigint {
  return mod(to - from);
}

/** The shorter way round between `a` and `b`, in [0, 2^159]. Symmetric. */
export function ringDistance(a: OverlayAddress, b: OverlayAddress): bigint {
  const cw = mod(b - a);
  return cw <= HALF_RING ? cw : RING_SIZE - cw;
}

/**
 * True when `x` lies strictly inside the clockwise arc from `from` to `to` (both ends excluded).
 * When `from === to` the arc is the whole ring minus that point.
 */
export function isBetweenClockwise(
  x: OverlayAddress,
  from: OverlayAddress,
  to: OverlayAddress,
): boolean {
  const span = from === to ? RING_SIZE : mod(to - from);
  const d = mod(x - from);
  return d > 0n && d < span;
}

/** (a + d) mod 2^160; `d` may be negative or larger than the ring. */
export function addOffset(a: OverlayAddress, d: bigint): OverlayAddress {
  return mod(a + d);
}

/**
 * Sort comparator of closeness to `target`: negative when `x` is closer than `y`, positive when
 * farther, 0 only when `x === y`. Closer means smaller `ringDistance`; on a tie (the two lie at
 * equal distance on opposite sides of `target`) the one clockwise-after `target` wins, i.e. the
 * smaller `clockwiseDistance(target, ·)`. This is a strict total order on addresses, which is what
 * makes greedy routing loop-free.
 */
export function compareCloseness(
  target: OverlayAddress,
  x: OverlayAddress,
  y: OverlayAddress,
): number {
  const dx = ringDistance(target, x);
  const dy = ringDistance(target, y);
  if (dx !== dy) return dx < dy ? -1 : 1;
  const cx = mod(x - target);
  const cy = mod(y - target);
  return cx === cy ? 0 : cx < cy ? -1 : 1;
}

/** Neighbours of a node split by side, each list nearest first. */
export interface NearSides {
  /** Successors: increasing clockwise distance from self. */
  clockwise: OverlayAddress[];
  /** Predecessors: increasing counter-clockwise distance from self. */
  counterClockwise: OverlayAddress[];
}

/**
 * The `k` nearest addresses on each side of `self` among `others` (self and duplicates ignored).
 *
 * With at least 2k others, `clockwise` is the first k successors and `counterClockwise` the first k
 * predecessors (disjoint, whatever their distance). With fewer, every other appears exactly once:
 * successor order is cut in two, each address going to the side where it is nearer (exactly half
 * a ring counts as clockwise) unless that side already holds k, in which case the rest go to the
 * other side. Either way `clockwise` is a prefix of successor order and `counterClockwise` a prefix
 * of predecessor order. RangeError unless `k` is a non-negative integer.
 */
export function nearestOnEachSide(
  self: OverlayAddress,
  others: Iterable<OverlayAddress>,
  k: number,
): NearSides {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer: ${k}`);
  const set = new Set<OverlayAddress>(others);
  set.delete(self);
  if (set.size >= 2 * k) return nearestOfMany(self, set, k);
  const byCw = [...set].map((a) => ({ a, d: mod(a - self) }));
  byCw.sort((p, q) => (p.d < q.d ? -1 : p.d > q.d ? 1 : 0));
  const n = byCw.length;
  let nearer = 0;
  while (nearer < n && byCw[nearer]!.d <= HALF_RING) nearer++;
  const cwCount = Math.min(k, Math.max(n - k, nearer));
  const ccwCount = n - cwCount;
  const clockwise = byCw.slice(0, cwCount).map((p) => p.a);
  const counterClockwise = byCw.slice(n - ccwCount).map((p) => p.a).reverse();
  return { clockwise, counterClockwise };
}

/**
 * `nearestOnEachSide` for at least 2k others: one pass keeping the k smallest and the k largest
 * clockwise distances (it runs on every neighbour list heard; a full sort was a tenth of the
 * simulator's time).
 */
function nearestOfMany(self: OverlayAddress, others: Set<OverlayAddress>, k: number): NearSides {
  if (k === 0) return { clockwise: [], counterClockwise: [] };
  const cw: { a: OverlayAddress; d: bigint }[] = []; // ascending d
  const ccw: { a: OverlayAddress; d: bigint }[] = []; // descending d
  for (const a of others) {
    const d = mod(a - self);
    if (cw.length < k || d < cw[cw.length - 1]!.d) {
      let i = Math.min(cw.length, k - 1);
      cw[i] = { a, d };
      for (; i > 0 && cw[i - 1]!.d > d; i--) [cw[i - 1], cw[i]] = [cw[i]!, cw[i - 1]!];
    }
    if (ccw.length < k || d > ccw[ccw.length - 1]!.d) {
      let i = Math.min(ccw.length, k - 1);
      ccw[i] = { a, d };
      for (; i > 0 && ccw[i - 1]!.d < d; i--) [ccw[i - 1], ccw[i]] = [ccw[i]!, ccw[i - 1]!];
    }
  }
  return { clockwise: cw.map((p) => p.a), counterClockwise: ccw.map((p) => p.a) };
}
