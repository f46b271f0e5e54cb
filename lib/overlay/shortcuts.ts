import type { OverlayAddress } from "./address.ts";
import type { Connection } from "./connection.ts";
import { ConnectPurpose } from "./ctm_body.ts";

/** Knobs of on-demand shortcuts. */
export interface ShortcutTuning {
  /** Packets per second to one destination, routed over several hops, that ask for a shortcut (0: never). */
  thresholdPps: number;
  /** A shortcut that carried nothing for this long is closed. */
  idleMs: number;
  /** Most shortcuts a node asks for. */
  maxShortcuts: number;
  /** A request that brought no link is not repeated for this long. */
  retryMs: number;
  /** Destinations counted at once (traffic to others is not counted until the next second). */
  maxTracked: number;
}

/** Defaults: Brunet's ~2 packets/s, closed after a minute idle, at most 64. */
export const DEFAULT_SHORTCUT_TUNING: ShortcutTuning = {
  thresholdPps: 2,
  idleMs: 60_000,
  maxShortcuts: 64,
  retryMs: 15_000,
  maxTracked: 1_024,
};

/** The slice of `OverlayNode` shortcuts need. */
export interface ShortcutHost {
  readonly conns: ReadonlyMap<string, Connection>;
  readonly upByAddress: ReadonlyMap<OverlayAddress, Connection>;
  now(): number;
  requestConnection(target: OverlayAddress, purpose: ConnectPurpose): void;
}

/**
 * IPOP's self-optimisation: traffic to a destination that has no direct link is counted per
 * one-second window; at `thresholdPps` the node sends a Connect-To-Me to that destination
 * (delivered at it: it is the nearest node to its own address), and both sides link directly.
 * Shortcuts idle for `idleMs` are released (the maintenance closes connections nobody wants).
 * Everything is bounded: tracked destinations, requests in flight, shortcuts.
 */
export class Shortcuts {
  #windowStart = -Infinity;
  #counts = new Map<OverlayAddress, number>();
  readonly #requestedAt = new Map<OverlayAddress, number>();
  /** Per shortcut: traffic counters at the last look, and when they last moved. */
  readonly #activity = new Map<Connection, { packets: number; at: number }>();
  /** Shortcut requests sent. */
  requested = 0;

  constructor(private readonly host: ShortcutHost, readonly tuning: ShortcutTuning) {}

  /** A packet for `dst` went through the overlay (no direct link). */
  noteRouted(dst: OverlayAddress): void {
    const t = this.tuning;
    if (t.thresholdPps <= 0) return;
    const now = this.host.now();
    if (now - this.#windowStart >= 1_000) {
      this.#windowStart = now;
      this.#counts.clear();
    }
    const n = (this.#counts.get(dst) ?? 0) + 1;
    if (n === 1 && this.#counts.size >= t.maxTracked) return;
    this.#counts.set(dst, n);
    if (n !== Math.ceil(t.thresholdPps)) return;
    if (now - (this.#requestedAt.get(dst) ?? -Infinity) < t.retryMs) return;
    if (this.#wanted() >= t.maxShortcuts || this.#requestedAt.size >= t.maxShortcuts) return;
    this.#requestedAt.set(dst, now);
    this.requested++;
    this.host.requestConnection(dst, ConnectPurpose.Shortcut);
  }

  /** Once a maintenance round: releases idle shortcuts and forgets old requests. */
  maintain(): void {
    const now = this.host.now();
    for (const [dst, at] of this.#requestedAt) {
      if (now - at >= this.tuning.retryMs) this.#requestedAt.delete(dst);
    }
    for (const conn of this.host.conns.values()) {
      if (!conn.wantShortcut && !conn.remoteShortcut) {
        this.#activity.delete(conn);
        continue;
      }
      const packets = conn.peer.counters.rxPackets + conn.peer.counters.txPackets;
      const seen = this.#activity.get(conn);
      if (!seen || packets !== seen.packets) {
        this.#activity.set(conn, { packets, at: now });
      } else if (now - seen.at >= this.tuning.idleMs) {
        conn.wantShortcut = false;
        conn.remoteShortcut = false;
        this.#activity.delete(conn);
      }
    }
    for (const conn of this.#activity.keys()) {
      if (!this.host.conns.has(conn.peer.keyText)) this.#activity.delete(conn);
    }
  }

  #wanted(): number {
    let n = 0;
    for (const c of this.host.conns.values()) if (c.wantShortcut) n++;
    return n;
  }
}
