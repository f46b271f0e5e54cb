import type { Peer } from "../link/peer.ts";
import type { OverlayAddress } from "./address.ts";

/** What a connection is for, as status shows it. */
export type ConnectionKind = "near" | "far" | "shortcut" | "relay" | "leaf" | "fixed" | "other";

/**
 * One overlay connection: a link to a peer plus why each side wants it. A connection nobody
 * wants any more is closed by the overlay's maintenance (after a grace period).
 */
export class Connection {
  /** True once the link has a usable session. */
  up = false;
  /** Clock time the link came up (or was created, while it is not up). */
  since: number;
  /** We asked for it as a far (structured shortcut) connection. */
  wantFar = false;
  /** It is our way into the overlay (a bootstrap link), needed until we have joined. */
  wantLeaf = false;
  /** Configured by the operator (`--peer`): kept for as long as the node runs. */
  wantFixed = false;
  /** The peer asked for it as a far connection. */
  remoteFar = false;
  /** We asked for it as a shortcut (traffic to the peer crossed several hops). */
  wantShortcut = false;
  /** The peer asked for it as a shortcut. */
  remoteShortcut = false;
  /** When the peer last told us we are among its nearest neighbours. */
  remoteNearAt = -Infinity;
  /** The peer's latest neighbour list (addresses), and when it came: relays go through it. */
  heardNear: OverlayAddress[] = [];
  /**
   * Whether the peer said (in its Neighbours or a Connect-To-Me) that it is behind a NAT; null
   * until it has told us.
   */
  remoteBehindNat: boolean | null = null;
  heardNearAt = -Infinity;
  /** When we closed it (it lingers a moment for messages in flight); Infinity while open. */
  closingSince = Infinity;
  /** Its kind, as last classified. */
  kind: ConnectionKind = "other";
  /**
   * Neither side counts the other among its ring neighbours (as last classified): the peer
   * may keep it alive at the relaxed pace, so its silence is judged by the relaxed timeouts.
   */
  relaxed = false;

  constructor(
    readonly peer: Peer,
    readonly address: OverlayAddress,
    readonly createdAt: number,
  ) {
    this.since = createdAt;
  }
}
