import { type OverlayAddress, RING_SIZE } from "./address.ts";
import type { Connection } from "./connection.ts";
import { nextHop } from "./greedy.ts";
import {
  FLAG_NEAREST,
  FLAG_NOT_TO_SOURCE,
  FLAG_SECOND_CHANCE,
  type OverlayMessage,
} from "./overlay_message.ts";
import { clockwiseDistance, compareCloseness } from "./ring.ts";

/** What a node's routing decisions are made from. */
export interface RouteView {
  readonly self: OverlayAddress;
  /** Addresses routed to: up connections and relayed neighbours. */
  readonly addresses: readonly OverlayAddress[];
  /** The addresses of the up connections alone (no relayed neighbours). */
  readonly directAddresses: readonly OverlayAddress[];
  /** The connection each address is reached over (a relayed one: the common neighbour). */
  readonly byAddress: ReadonlyMap<OverlayAddress, Connection>;
  /** Links silent too long (or failed a hop watch): avoided while there is another way. */
  readonly suspects: ReadonlySet<OverlayAddress>;
}

/** A forward: the address greedy routing chose and the connection that reaches it. */
export interface Hop {
  readonly address: OverlayAddress;
  readonly conn: Connection;
}

/**
 * Where a message goes: forward (the address chosen, which for a relayed neighbour is not the
 * address of the connection that reaches it), delivered here, or nowhere.
 */
export type HopChoice = Hop | "deliver" | "unreachable";

/**
 * The greedy decision, avoiding suspect links; when avoiding them leaves no way forward (the
 * destination itself, or the only way, is suspect), the decision is made with them.
 */
export function chooseHop(view: RouteView, msg: OverlayMessage): HopChoice {
  const first = chooseAvoiding(view, msg, view.suspects);
  if (first !== "deliver" && first !== "unreachable") return first;
  return view.suspects.size === 0 ? first : chooseAvoiding(view, msg, new Set());
}

/**
 * The decision of a node that received a relay hop (`FLAG_RELAY_HOP`): over its own links
 * only (avoiding suspect ones while there is another). Null when none of them gets the message
 * on (the link to the sender's relayed neighbour is gone): the caller routes as usual.
 */
export function chooseDirectHop(view: RouteView, msg: OverlayMessage): Hop | null {
  const hop = chooseHop({ ...view, addresses: view.directAddresses }, msg);
  return typeof hop === "string" ? null : hop;
}

function chooseAvoiding(
  view: RouteView,
  msg: OverlayMessage,
  avoid: ReadonlySet<OverlayAddress>,
): HopChoice {
  const notToSource = (msg.flags & FLAG_NOT_TO_SOURCE) !== 0;
  if (notToSource && msg.src === view.self) {
    // The originator itself must not be the answer: take the best of its connections.
    let best: OverlayAddress | null = null;
    for (const a of view.addresses) {
      if (avoid.has(a)) continue;
      if (best === null || compareCloseness(msg.dst, a, best) < 0) best = a;
    }
    return best === null ? "unreachable" : { address: best, conn: view.byAddress.get(best)! };
  }
  const exclude = notToSource ? new Set([...avoid, msg.src]) : avoid;
  const mode = (msg.flags & FLAG_NEAREST) !== 0 ? "nearest" : "exact";
  const d = nextHop(view.self, msg.dst, view.addresses, mode, exclude);
  if (d.kind === "forward") return { address: d.next, conn: view.byAddress.get(d.next)! };
  return d.kind === "deliver" ? "deliver" : "unreachable";
}

/**
 * An exact-mode message stops here, the closest node we know to a destination we do not
 * know. A node that joined a moment ago may be linked to its neighbour on the far side only:
 * once, the message may go to our nearest connection beyond the destination. That connection,
 * or null when the message had its chance already (or is nearest-mode, or we know nobody).
 */
export function secondChanceHop(view: RouteView, msg: OverlayMessage): Connection | null {
  if ((msg.flags & (FLAG_NEAREST | FLAG_SECOND_CHANCE)) !== 0) return null;
  const clockwise = clockwiseDistance(view.self, msg.dst) < RING_SIZE / 2n;
  let best: OverlayAddress | null = null;
  let bestDistance = RING_SIZE;
  for (const a of view.addresses) {
    const d = clockwise ? clockwiseDistance(msg.dst, a) : clockwiseDistance(a, msg.dst);
    if (d < bestDistance) [best, bestDistance] = [a, d];
  }
  return best === null ? null : view.byAddress.get(best)!;
}
