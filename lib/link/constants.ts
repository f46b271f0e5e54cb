/**
 * Link-layer protocol constants (fixed by the protocol: changing them breaks interoperation)
 * and tuning defaults (local choices, overridable per `LinkLayer`).
 */

/** Messages on one session before it must not be used any more (kept below 2^53). */
export const REJECT_AFTER_MESSAGES = 2 ** 48;
/** Session age after which it is no longer used to send or accepted to receive. */
export const REJECT_AFTER_TIME_MS = 180_000;
/** Width of the sliding replay window, in counters. */
export const REPLAY_WINDOW_COUNTERS = 2016;
/** The Noise prologue: binds handshakes to this protocol and version. */
export const LINK_PROLOGUE = new TextEncoder().encode("ipop link v1");

/** Tuning knobs for links. All durations in milliseconds. */
export interface LinkTuning {
  /** Start a new handshake after this many messages on a session. */
  rekeyAfterMessages: number;
  /** Start a new handshake when the current session is this old. */
  rekeyAfterTimeMs: number;
  /** Retry a handshake that got no response after this long. */
  rekeyTimeoutMs: number;
  /** Send a keepalive when nothing was sent for this long on an established link. */
  keepaliveIntervalMs: number;
  /** Declare a link down when nothing was received for this long. */
  deadAfterMs: number;
  /** How often the link layer checks its timers. */
  tickMs: number;
  /** Packets held per peer while its handshake runs. */
  pendingPacketsPerPeer: number;
  /** Handshake messages processed per second (all sources together). */
  handshakesPerSecond: number;
  /** Retry a first handshake (to a peer never reached, maybe behind a NAT) after this long. */
  punchRetryMs: number;
  /** IP TTL of hole-punching primers: past our own NAT, expired before the peer's. */
  primerTtl: number;
  /** Birthday punching, behind a NAT that maps per destination: sockets opened (see `birthday.ts`). */
  fanSockets: number;
  /** Birthday punching, behind a cone NAT: guesses per wave. */
  guessesPerWave: number;
}

/** The defaults: keepalives well under common NAT UDP timeouts (30 s). */
export const DEFAULT_LINK_TUNING: LinkTuning = {
  rekeyAfterMessages: 2 ** 40,
  rekeyAfterTimeMs: 120_000,
  rekeyTimeoutMs: 5_000,
  keepaliveIntervalMs: 10_000,
  deadAfterMs: 35_000,
  tickMs: 1_000,
  pendingPacketsPerPeer: 64,
  handshakesPerSecond: 200,
  punchRetryMs: 1_000,
  primerTtl: 2,
  fanSockets: 256,
  guessesPerWave: 1_024,
};

/** How long after `addPeerAt` a first handshake is retried (after `punchRetryMs`, doubling). */
export const PUNCH_WINDOW_MS = 15_000;

/** Candidate endpoints tried at once for a first handshake (Brunet tried 6 of up to 12). */
export const MAX_CANDIDATES = 8;
