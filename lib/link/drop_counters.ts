/** Why incoming datagrams were dropped; each is counted, none reaches the TUN. */
export interface DropCounters {
  /** Wrong version, unknown type, impossible size, bad payload encoding. */
  malformed: number;
  /** Failed a MAC, an AEAD tag or the Noise handshake. */
  unauthenticated: number;
  /** A counter or initiation timestamp seen before (or too old for the window). */
  replayed: number;
  /** Names a session index we do not have (or an expired one). */
  unknownSession: number;
  /** Handshake work refused by the rate limiter. */
  rateLimited: number;
  /** Authentic but not allowed: unknown peer key, or an inner packet with a spoofed source. */
  notAllowed: number;
}

/** A fresh zeroed `DropCounters`. */
export function newDropCounters(): DropCounters {
  return {
    malformed: 0,
    unauthenticated: 0,
    replayed: 0,
    unknownSession: 0,
    rateLimited: 0,
    notAllowed: 0,
  };
}

/** The sum of all drop counters. */
export function totalDrops(d: DropCounters): number {
  return d.malformed + d.unauthenticated + d.replayed + d.unknownSession + d.rateLimited +
    d.notAllowed;
}
