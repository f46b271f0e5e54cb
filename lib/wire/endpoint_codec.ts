import { type Endpoint, endpoint, parseIpv6, writeIpv4 } from "../transport/endpoint.ts";

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
  if (ep.family === 4) writeIpv4(out, 1, ep.host);
  else {
    const addr = parseIpv6(ep.host);
    if (addr) out.set(addr, 1);
  }
  out[17] = ep.port >> 8;
  out[18] = ep.port & 0xff;
  return out;
}

/** Decodes an endpoint, or null for bytes that are not one. */
export function decodeEndpoint(bytes: Uint8Array): Endpoint | null {
  if (bytes.length !== ENDPOINT_BYTES) return null;
  const port = (bytes[17]! << 8) | bytes[18]!;
  if (bytes[0] === 4) {
    // Four bytes always make a valid dotted quad: no need to parse it back.
    return { host: `${bytes[1]}.${bytes[2]}.${bytes[3]}.${bytes[4]}`, port, family: 4 };
  }
  if (bytes[0] !== 6) return null;
  const words: string[] = [];
  for (let i = 0; i < 8; i++) {
    words.push(((bytes[1 + 2 * i]! << 8) | bytes[2 + 2 * i]!).toString(16));
  }
  return endpoint(words.join(":"), port);
}
