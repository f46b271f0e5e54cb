import type { OverlayAddress } from "../overlay/address.ts";
import { compareCloseness } from "../overlay/ring.ts";

/**
 * The `count` addresses of `candidates` nearest to `position` on the ring (either direction),
 * nearest first. Duplicates in `candidates` count once.
 */
export function nearestTo(
  position: OverlayAddress,
  candidates: Iterable<OverlayAddress>,
  count: number,
): OverlayAddress[] {
  const sorted = [...new Set(candidates)].sort((a, b) => compareCloseness(position, a, b));
  return sorted.slice(0, count);
}

/** Votes needed for a majority of `n` replicas. */
export function majorityOf(n: number): number {
  return Math.floor(n / 2) + 1;
}
