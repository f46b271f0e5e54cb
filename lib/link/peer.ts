import type { GuessState } from "./birthday.ts";
import type { Endpoint } from "../transport/endpoint.ts";
import type { InitiatorHandshake } from "../noise/handshake_ikpsk2.ts";
import type { Session } from "./session.ts";
import type { DataType } from "../wire/data_message.ts";

/** An initiation we sent and await the response to. */
export interface PendingHandshake {
  readonly localIndex: number;
  readonly handshake: InitiatorHandshake;
  readonly sentAt: number;
}

/** Per-peer keepalive timing (see `Peer.pace`). */
export interface LinkPace {
  /** Send a keepalive when nothing was sent to the peer for this long. */
  keepaliveIntervalMs: number;
  /** The link is down when nothing was received from the peer for this long. */
  deadAfterMs: number;
}

/** Traffic counters of one peer. */
export interface PeerCounters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

/**
 * What the link layer knows about one remote node: its static key, where it is, its sessions
 * and its handshake in progress. Sessions rotate as in WireGuard: `next` is a session we
 * answered but the peer has not used yet; it becomes `current` on the first data received on it.
 */
export class Peer {
  /** Where to send; updated to the source of each authenticated message (roaming). */
  endpoint: Endpoint | null;
  current: Session | null = null;
  previous: Session | null = null;
  next: Session | null = null;
  handshake: PendingHandshake | null = null;
  /** Greatest initiation timestamp accepted from this peer. */
  lastInitiationTimestamp = -1;
  /** The peer's virtual IPv4 address (u32) as it announced it, or null. */
  virtualIp: number | null = null;
  /** Clock times, ms (-Infinity: never). */
  lastSentAt = -Infinity;
  lastReceivedAt = -Infinity;
  lastHandshakeAt = -Infinity;
  /**
   * Where the peer may be reached, for the first handshake: its local and reflexive endpoints
   * (hole punching sends initiations to all of them). `endpoint` becomes the one that answered.
   */
  candidates: Endpoint[] = [];
  /** No initiation before this clock time (the other side punches first; see `addPeerAt`). */
  holdUntil = -Infinity;
  /** Until this clock time a first handshake is retried quickly (hole punching). */
  punchUntil = -Infinity;
  /** Initiations sent since `punchUntil` was set (the retry interval doubles with each). */
  punchAttempts = 0;
  /** Birthday punching toward this peer's ports, when armed (see `birthday.ts`). */
  guess: GuessState | null = null;
  /**
   * Birthday punching: until this clock time a fan of our sockets waits for this peer's
   * guesses. Its initiations are answered even when ours would win a crossing: ours leave from
   * our main socket, which its NAT does not let through.
   */
  fanUntil = -Infinity;
  /** Messages waiting for a session (copies), oldest first. */
  readonly pending: { type: DataType; payload: Uint8Array }[] = [];
  /**
   * This peer's keepalive interval and dead-link timeout, ms, when they differ from the link
   * layer's tuning (a link whose liveness matters less can be kept alive less often; see
   * `LinkPace`). Undefined: the tuning's.
   */
  pace: LinkPace | undefined = undefined;
  /** Round-trip time of the last completed handshake we initiated, ms (null: none yet). */
  rttMs: number | null = null;
  readonly counters: PeerCounters = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 };

  constructor(
    readonly publicKey: Uint8Array,
    /** The key as base64 text (for maps, logs and status). */
    readonly keyText: string,
    /** mac1 key for messages we send to this peer. */
    readonly mac1Key: Uint8Array,
    endpoint: Endpoint | null,
  ) {
    this.endpoint = endpoint;
  }

  /** Removes the sessions for which `doomed` is true and returns them. */
  removeSessions(doomed: (s: Session) => boolean): Session[] {
    const removed: Session[] = [];
    for (const slot of ["previous", "current", "next"] as const) {
      const s = this[slot];
      if (s && doomed(s)) {
        removed.push(s);
        this[slot] = null;
      }
    }
    return removed;
  }

  /** All sessions this peer holds, newest first. */
  sessions(): Session[] {
    return [this.next, this.current, this.previous].filter((s): s is Session => s !== null);
  }
}
