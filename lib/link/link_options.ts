import type { Clock, Rng } from "../clock/clock.ts";
import type { Aead } from "../crypto/aead.ts";
import type { KeyPair, X25519 } from "../crypto/x25519.ts";
import type { Logger } from "../log.ts";
import type { Transport } from "../transport/transport.ts";
import type { LinkTuning } from "./constants.ts";

/** What a node's links are made of: its keys, the network secret, and its seams. */
export interface LinkEnvironment {
  identity: KeyPair;
  /** The network pre-shared key (32 bytes; zeros when the network has no secret). */
  psk: Uint8Array;
  transport: Transport;
  clock: Clock;
  rng: Rng;
  aead: Aead;
  /** X25519 for handshakes (default: node:crypto's). */
  x25519?: X25519;
  logger: Logger;
}

/** What a `LinkLayer` needs from its host. */
export interface LinkLayerOptions extends LinkEnvironment {
  tuning?: Partial<LinkTuning>;
  /** Our virtual IPv4 address (u32) and prefix, announced in handshakes; null when none yet. */
  virtualIp?: { ip: number; prefix: number } | null;
  /**
   * Accept handshakes from keys that are not peers yet (overlay members; the network secret
   * still guards the door), up to `maxPeers` peers in all. Default false: configured peers only.
   */
  acceptUnknownPeers?: boolean;
  /** The most peers this link layer keeps (default 1024). */
  maxPeers?: number;
}

/** Default of `LinkLayerOptions.maxPeers`. */
export const DEFAULT_MAX_PEERS = 1024;
