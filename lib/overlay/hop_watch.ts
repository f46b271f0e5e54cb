import type { Clock, TimerHandle } from "../clock/clock.ts";
import type { OverlayAddress } from "./address.ts";
import type { Connection } from "./connection.ts";
import { FLAG_NEAREST, type OverlayMessage } from "./overlay_message.ts";

/** Knobs of the hop watch. Durations in milliseconds. */
export interface HopWatchTuning {
  /** A link silent this long gets its next routed message watched (asks for a hop ack). */
  quietMs: number;
  /** The shortest wait for the ack (else three round trips). */
  minTimeoutMs: number;
  /** Messages kept per watched link, to route again if it turns out dead. */
  maxWatchedPerLink: number;
}

/** Defaults: a link quiet for a second is checked by the next message that crosses it. */
export const DEFAULT_HOP_WATCH_TUNING: HopWatchTuning = {
  quietMs: 1_000,
  minTimeoutMs: 300,
  maxWatchedPerLink: 8,
};

interface Watch {
  since: number;
  messages: OverlayMessage[];
  timer: TimerHandle;
}

/**
 * Catches messages forwarded into a node that has just crashed. A crashed peer is noticed by
 * keepalive silence only after seconds; every message routed over its link meanwhile is lost.
 * So the first routed message to cross a link that has been quiet for `quietMs` asks the next
 * hop for an acknowledgement (any datagram back proves the peer alive), and it and the messages
 * that follow it are kept for a few round trips. If nothing comes back, the peer is marked failed
 * (routes avoid it until it is heard again) and the kept messages are routed once more, around
 * it. Busy links are never watched: their traffic is the proof of life. Bounded: at most one
 * timer and `maxWatchedPerLink` messages per link.
 */
export class HopWatch {
  readonly #watches = new Map<Connection, Watch>();
  /** Failed peers and when they failed. */
  readonly #failedAt = new Map<OverlayAddress, number>();
  /** Links found dead by the watch, and messages routed again. */
  failures = 0;
  rerouted = 0;

  constructor(
    private readonly clock: Clock,
    private readonly tuning: HopWatchTuning,
    /** Routes a kept message again (the failed peer is avoided by then). */
    private readonly reroute: (msg: OverlayMessage) => void,
  ) {}

  /** Called as `msg` goes out over `conn`: true when it must ask for a hop ack. */
  watch(conn: Connection, msg: OverlayMessage): boolean {
    const watching = this.#watches.get(conn);
    if (watching) {
      if (watching.messages.length < this.tuning.maxWatchedPerLink) {
        watching.messages.push(copy(msg));
      }
      return true;
    }
    const now = this.clock.now();
    if (now - conn.peer.lastReceivedAt < this.tuning.quietMs) return false;
    const timeoutMs = Math.max(this.tuning.minTimeoutMs, 3 * (conn.peer.rttMs ?? 0));
    const timer = this.clock.setTimer(timeoutMs, () => this.#check(conn));
    this.#watches.set(conn, { since: now, messages: [copy(msg)], timer });
    return true;
  }

  /** True when `conn`'s peer failed a watch and has not been heard from since. */
  failed(conn: Connection): boolean {
    const at = this.#failedAt.get(conn.address);
    if (at === undefined) return false;
    if (conn.peer.lastReceivedAt < at) return true;
    this.#failedAt.delete(conn.address);
    return false;
  }

  /** Forgets failures of peers no longer connected. */
  prune(connected: ReadonlyMap<OverlayAddress, Connection>): void {
    for (const address of this.#failedAt.keys()) {
      const conn = connected.get(address);
      if (!conn || !this.failed(conn)) this.#failedAt.delete(address);
    }
  }

  /** Cancels every watch (the node is closing). */
  close(): void {
    for (const w of this.#watches.values()) w.timer.cancel();
    this.#watches.clear();
  }

  #check(conn: Connection): void {
    const w = this.#watches.get(conn);
    if (!w) return;
    this.#watches.delete(conn);
    if (conn.peer.lastReceivedAt >= w.since) return;
    this.failures++;
    this.#failedAt.set(conn.address, this.clock.now());
    for (const msg of w.messages) {
      // A message for the failed node itself has nowhere else to go.
      if (msg.dst === conn.address && (msg.flags & FLAG_NEAREST) === 0) continue;
      this.rerouted++;
      this.reroute(msg);
    }
  }
}

function copy(msg: OverlayMessage): OverlayMessage {
  return { ...msg };
}
