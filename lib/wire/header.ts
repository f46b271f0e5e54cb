/**
 * The common header of every ipop datagram on the underlay.
 *
 * ```
 *  0        1        2        3
 * +--------+--------+--------+--------+
 * | version|  type  |  reserved (0)   |
 * +--------+--------+--------+--------+
 * ```
 * A receiver drops (and counts) datagrams of another version or an unknown type.
 */

/** The wire format version this code speaks. */
export const WIRE_VERSION = 1;
/** Bytes in the common header. */
export const COMMON_HEADER_BYTES = 4;

/** Message types. */
export const MessageType = {
  /** Noise IK message 1. */
  HandshakeInitiation: 1,
  /** Noise IK message 2. */
  HandshakeResponse: 2,
  /** Asks a node for its static public key, or answers (see `key_probe.ts`). */
  KeyProbe: 3,
  /** An encrypted IP packet (or an empty keepalive). */
  Data: 4,
  /** An encrypted overlay message (routing, ring maintenance, connection setup). */
  OverlayData: 5,
  /**
   * A hole-punching primer: sent with a small IP TTL so that it opens the sender's own NAT
   * mapping toward a peer and dies before the peer's NAT. One that does arrive is ignored.
   * Just the common header.
   */
  Primer: 6,
} as const;

/** The whole primer datagram. */
export const PRIMER_DATAGRAM: Uint8Array = Uint8Array.of(WIRE_VERSION, 6, 0, 0);

/** One of the `MessageType` values. */
export type MessageType = typeof MessageType[keyof typeof MessageType];

/** Writes the common header at the start of `out`. */
export function writeCommonHeader(out: Uint8Array, type: MessageType): void {
  out[0] = WIRE_VERSION;
  out[1] = type;
  out[2] = 0;
  out[3] = 0;
}

/** The message type of a datagram, or null when it is too short or of another version. */
export function readMessageType(datagram: Uint8Array): number | null {
  if (datagram.length < COMMON_HEADER_BYTES || datagram[0] !== WIRE_VERSION) return null;
  return datagram[1]!;
}
