import type { OverlayAddress } from "./address.ts";
import type { Connection } from "./connection.ts";
import { ConnectPurpose } from "./ctm_body.ts";

/** The span over which packets to one destination are counted. */
const WINDOW_MS = 1_000;

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
  /**
   * Per destination: the time of the packet that opened its window and the packets counted in
   * it since (that one included). A window lasts one second from its first packet.
   */
  readonly #windows = new Map<OverlayAddress, { start: number; n: number }>();
  #lastPurge = -Infinity;
  readonly #requestedAt = new Map<OverlayAddress, number>();
  /**
   * Per shortcut: when the pair's own traffic last used it (`noteUse`), or when we first saw it.
   * Traffic other nodes route across the link does not count: it would keep every shortcut.
   */
  readonly #lastUse = new Map<OverlayAddress, number>();
  /** Shortcut requests sent. */
  requested = 0;

  constructor(private readonly host: ShortcutHost, readonly tuning: ShortcutTuning) {}

  /**
   * A packet for `dst` went through the overlay (no direct link). `thresholdPps` packets a
   * second means `thresholdPps` intervals within one second: `thresholdPps + 1` packets at most
   * 1 s apart, first to last. (Counting `thresholdPps` packets would let two packets of a 1/s
   * flow that arrive 999 ms apart pass for 2/s.)
   */
  noteRouted(dst: OverlayAddress): void {
    const t = this.tuning;
    if (t.thresholdPps <= 0) return;
    const now = this.host.now();
    let w = this.#windows.get(dst);
    if (w === undefined || now - w.start > WINDOW_MS) {
      if (w === undefined && this.#windows.size >= t.maxTracked) {
        if (now - this.#lastPurge < WINDOW_MS) return;
        this.#purge(now);
        if (this.#windows.size >= t.maxTracked) return;
      }
      w = { start: now, n: 0 };
      this.#windows.set(dst, w);
    }
    w.n++;
    if (w.n !== Math.ceil(t.thresholdPps) + 1) return;
    if (now - (this.#requestedAt.get(dst) ?? -Infinity) < t.retryMs) return;
    if (this.#wanted() >= t.maxShortcuts || this.#requestedAt.size >= t.maxShortcuts) return;
    this.#requestedAt.set(dst, now);
    this.requested++;
    this.host.requestConnection(dst, ConnectPurpose.Shortcut);
  }

  /** The pair's own traffic went over the direct link with `peer` (sent or received). */
  noteUse(peer: OverlayAddress): void {
    if (this.#lastUse.has(peer)) this.#lastUse.set(peer, this.host.now());
  }

  /** Forgets the windows that are over (at most once a window, when the table is full). */
  #purge(now: number): void {
    this.#lastPurge = now;
    for (const [dst, w] of this.#windows) {
      if (now - w.start > WINDOW_MS) this.#windows.delete(dst);
    }
  }

  /** Once a maintenance round: releases idle shortcuts and forgets old requests. */
  maintain(): void {
    const now = this.host.now();
    this.#purge(now);
    for (const [dst, at] of this.#requestedAt) {
      if (now - at >= this.tuning.retryMs) this.#requestedAt.delete(dst);
    }
    const shortcuts = new Set<OverlayAddress>();
    for (const conn of this.host.conns.values()) {
      if (!conn.wantShortcut && !conn.remoteShortcut) continue;
      shortcuts.add(conn.address);
      const used = this.#lastUse.get(conn.address);
      if (used === undefined) this.#lastUse.set(conn.address, now);
      else if (now - used >= this.tuning.idleMs) {
        conn.wantShortcut = false;
        conn.remoteShortcut = false;
        shortcuts.delete(conn.address);
      }
    }
    for (const peer of this.#lastUse.keys()) {
      if (!shortcuts.has(peer)) this.#lastUse.delete(peer);
    }
  }

  #wanted(): number {
    let n = 0;
    for (const c of this.host.conns.values()) if (c.wantShortcut) n++;
    return n;
  }
}
