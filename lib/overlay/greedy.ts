/**
 * Greedy next-hop choice on the ring. Each forward moves a message to a node strictly closer to
 * its destination in `compareCloseness` order (a strict total order), so routes never loop.
 *
 * @module
 */
import type { OverlayAddress } from "./address.ts";
import { compareCloseness } from "./ring.ts";

/**
 * "exact": deliver only at the node whose address is the destination (node addressing).
 * "nearest": deliver at the node closest to the destination (DHT keys).
 */
export type RoutingMode = "exact" | "nearest";

/** What a node does with a message. */
export type HopDecision =
  | { kind: "deliver" }
  | { kind: "unreachable" }
  | { kind: "forward"; next: OverlayAddress };

/**
 * Greedy routing decision at `self` for a message to `dst`: among `self` and `candidates` (the
 * addresses of the node's connections, minus any in `exclude`), take the one closest to `dst` by
 * `compareCloseness`. If that is `self`: mode "nearest" delivers; mode "exact" delivers when
 * `dst === self` and answers "unreachable" otherwise. Else forward to it. Candidates equal to
 * `self` are ignored. Excluding candidates (e.g. the previous hop) keeps routes loop-free since
 * any chosen hop is still strictly closer than `self`.
 */
export function nextHop(
  self: OverlayAddress,
  dst: OverlayAddress,
  candidates: Iterable<OverlayAddress>,
  mode: RoutingMode,
  exclude?: ReadonlySet<OverlayAddress>,
): HopDecision {
  let best = self;
  for (const c of candidates) {
    if (exclude?.has(c)) continue;
    if (compareCloseness(dst, c, best) < 0) best = c;
  }
  if (best !== self) return { kind: "forward", next: best };
  if (mode === "nearest" || dst === self) return { kind: "deliver" };
  return { kind: "unreachable" };
}
