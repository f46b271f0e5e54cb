/**
 * IPv4 header fields the virtual network reads (RFC 791).
 *
 * ```
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   ... 8 bytes: identification, flags, fragment offset, TTL, protocol, checksum ...      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Source Address (offset 12)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Destination Address (offset 16)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */

/** Bytes in an IPv4 header without options. */
export const IPV4_MIN_HEADER_BYTES = 20;

/**
 * The length of the IPv4 packet at the start of `packet` (its Total Length), or -1 when the
 * bytes are not a well-formed IPv4 header that fits in `packet`.
 */
export function ipv4PacketLength(packet: Uint8Array): number {
  if (packet.length < IPV4_MIN_HEADER_BYTES) return -1;
  const first = packet[0]!;
  if (first >> 4 !== 4 || (first & 0x0f) < 5) return -1;
  const total = (packet[2]! << 8) | packet[3]!;
  if (total < (first & 0x0f) * 4 || total > packet.length) return -1;
  return total;
}

/** The source address (u32) of an IPv4 packet at least 20 bytes long. */
export function ipv4Source(packet: Uint8Array): number {
  return ((packet[12]! << 24) | (packet[13]! << 16) | (packet[14]! << 8) | packet[15]!) >>> 0;
}

/** The destination address (u32) of an IPv4 packet at least 20 bytes long. */
export function ipv4Destination(packet: Uint8Array): number {
  return ((packet[16]! << 24) | (packet[17]! << 16) | (packet[18]! << 8) | packet[19]!) >>> 0;
}

/** Dotted-quad text to u32; throws RangeError for bad text. */
export function ipv4ToNumber(text: string): number {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || !parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255)) {
    throw new RangeError(`Not an IPv4 address: ${text}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** u32 to dotted-quad text. */
export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}
