import { type Endpoint, endpoint, parseIpv4, parseIpv6 } from "../transport/endpoint.ts";

/**
 * An endpoint in 19 bytes.
 *
 * ```
 * +--------+----------------------------------+-----------------+
 * | family | address (16; IPv4 in the first 4) | port (u16 BE)   |
 * +--------+----------------------------------+-----------------+
 * ```
 */
export const ENDPOINT_BYTES = 19;

/** Encodes an endpoint. */
export function encodeEndpoint(ep: Endpoint): Uint8Array {
  const out = new Uint8Array(ENDPOINT_BYTES);
  out[0] = ep.family;
  const addr = ep.family === 4 ? parseIpv4(ep.host) : parseIpv6(ep.host);
  if (addr) out.set(addr, 1);
  out[17] = ep.port >> 8;
  out[18] = ep.port & 0xff;
  return out;
}

/** Decodes an endpoint, or null for bytes that are not one. */
export function decodeEndpoint(bytes: Uint8Array): Endpoint | null {
  if (bytes.length !== ENDPOINT_BYTES) return null;
  const port = (bytes[17]! << 8) | bytes[18]!;
  if (bytes[0] === 4) return endpoint(Array.from(bytes.subarray(1, 5)).join("."), port);
  if (bytes[0] !== 6) return null;
  const words: string[] = [];
  for (let i = 0; i < 8; i++) {
    words.push(((bytes[1 + 2 * i]! << 8) | bytes[2 + 2 * i]!).toString(16));
  }
  return endpoint(words.join(":"), port);
}
