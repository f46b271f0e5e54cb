import type { LinkTuning } from "../link/constants.ts";
import { DEFAULT_SHORTCUT_TUNING, type ShortcutTuning } from "./shortcuts.ts";

/** Tuning knobs of the overlay. Durations in milliseconds. */
export interface OverlayTuning {
  /** Near connections kept on each side of the ring. */
  nearPerSide: number;
  /** How often maintenance runs. */
  maintenanceMs: number;
  /** How often near neighbours are told our neighbour list even when nothing changed. */
  gossipMs: number;
  /** A connection that is not up after this long is given up. */
  connectTimeoutMs: number;
  /** Retry interval of bootstrap probes and of the join request. */
  joinRetryMs: number;
  /** A connection nobody needs is kept at least this long after it came up. */
  unneededGraceMs: number;
  /** How long a peer's "you are my neighbour" keeps our connection to it. */
  remoteNearHoldMs: number;
  /** The most connections a node keeps. */
  maxConnections: number;
  /** How often a joined node asks the overlay again for its ring neighbours (self-repair). */
  nearCheckMs: number;
  /** How often a joined node touches its bootstrap nodes again (to merge healed partitions). */
  bootstrapCheckMs: number;
  /** A connection we closed is kept this long for messages already in flight to us. */
  closeLingerMs: number;
  /** A link silent for this long is not routed through (see `OverlayNode`). */
  suspectAfterMs: number;
  /** The link layer's knobs for overlay links. */
  link: Partial<LinkTuning>;
  /**
   * Links that neither side counts among its ring neighbours (far links, shortcuts, links on
   * their way out): kept alive less often, and silence tolerated longer. Crashed far peers are
   * routed around by the hop watch meanwhile; ring neighbours keep the fast `link` timing.
   */
  relaxedLink: { keepaliveIntervalMs: number; suspectAfterMs: number; deadAfterMs: number };
  /** On-demand shortcuts. */
  shortcuts: ShortcutTuning;
}

/** The defaults: failures are noticed in about 15 s, gossip is cheap (every 10 s). */
export const DEFAULT_OVERLAY_TUNING: OverlayTuning = {
  nearPerSide: 3,
  maintenanceMs: 1_000,
  gossipMs: 10_000,
  connectTimeoutMs: 15_000,
  joinRetryMs: 3_000,
  unneededGraceMs: 20_000,
  remoteNearHoldMs: 35_000,
  maxConnections: 96,
  nearCheckMs: 30_000,
  bootstrapCheckMs: 300_000,
  suspectAfterMs: 7_000,
  closeLingerMs: 2_000,
  link: { keepaliveIntervalMs: 5_000, deadAfterMs: 15_000 },
  relaxedLink: { keepaliveIntervalMs: 10_000, suspectAfterMs: 12_000, deadAfterMs: 25_000 },
  shortcuts: DEFAULT_SHORTCUT_TUNING,
};
