/**
 * Estimate of the number of nodes on the ring from the density of a node's near neighbours.
 *
 * @module
 */
import { type OverlayAddress, RING_SIZE } from "./address.ts";
import { clockwiseDistance } from "./ring.ts";

/**
 * Estimated ring size. With m distinct neighbours (self excluded), the arc from the farthest
 * counter-clockwise to the farthest clockwise one holds m + 1 nodes and so m gaps; gaps average
 * 2^160 / N, so N ≈ m · 2^160 / span (self is already counted: no +1). Exact for evenly spaced
 * rings; for uniformly random addresses with m = 6 (k = 3 per side) the median estimate is ~6%
 * high and the mean m/(m-1) = 20% high, ~10% of single estimates are off by more than 2x.
 * Rounded; at least m + 1; 1 with no neighbours. A missing side makes the arc start at self.
 * List order does not matter (the farthest on each side is computed).
 */
export function estimateNetworkSize(
  self: OverlayAddress,
  near: { clockwise: OverlayAddress[]; counterClockwise: OverlayAddress[] },
): number {
  const all = new Set<OverlayAddress>([...near.clockwise, ...near.counterClockwise]);
  all.delete(self);
  const m = all.size;
  if (m === 0) return 1;
  let cwMax = 0n;
  for (const a of near.clockwise) {
    const d = clockwiseDistance(self, a);
    if (d > cwMax) cwMax = d;
  }
  let ccwMax = 0n;
  for (const a of near.counterClockwise) {
    const d = clockwiseDistance(a, self);
    if (d > ccwMax) ccwMax = d;
  }
  let span = cwMax + ccwMax;
  if (span > RING_SIZE) span = RING_SIZE;
  const estimate = Math.round((m * Number(RING_SIZE)) / Number(span));
  return Math.max(m + 1, estimate);
}
