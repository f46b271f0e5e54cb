import type { Endpoint } from "../transport/endpoint.ts";
import { decodeEndpoint, encodeEndpoint, ENDPOINT_BYTES } from "../wire/endpoint_codec.ts";

/**
 * How a node is introduced to another: its static key (its overlay address is derived from it)
 * and the endpoints it can be reached at.
 *
 * ```
 * +-----------------------+-------+---------------------------------+
 * | public key (32)       | count | endpoints (count × 19 bytes)    |
 * +-----------------------+-------+---------------------------------+
 * ```
 */
export interface NodeInfo {
  publicKey: Uint8Array;
  endpoints: Endpoint[];
}

/** The most endpoints one node advertises. */
export const MAX_ADVERTISED_ENDPOINTS = 4;
const KEY_BYTES = 32;

/** Bytes `info` takes on the wire. */
export function nodeInfoBytes(info: NodeInfo): number {
  return KEY_BYTES + 1 + Math.min(info.endpoints.length, MAX_ADVERTISED_ENDPOINTS) * ENDPOINT_BYTES;
}

/** Writes `info` at `off` in `out`; returns the offset after it. */
export function writeNodeInfo(out: Uint8Array, off: number, info: NodeInfo): number {
  out.set(info.publicKey, off);
  const eps = info.endpoints.slice(0, MAX_ADVERTISED_ENDPOINTS);
  out[off + KEY_BYTES] = eps.length;
  let at = off + KEY_BYTES + 1;
  for (const ep of eps) {
    out.set(encodeEndpoint(ep), at);
    at += ENDPOINT_BYTES;
  }
  return at;
}

/** Reads a node info at `off`; null when truncated or malformed. */
export function readNodeInfo(
  bytes: Uint8Array,
  off: number,
): { info: NodeInfo; next: number } | null {
  if (off + KEY_BYTES + 1 > bytes.length) return null;
  const count = bytes[off + KEY_BYTES]!;
  const end = off + KEY_BYTES + 1 + count * ENDPOINT_BYTES;
  if (count > MAX_ADVERTISED_ENDPOINTS || end > bytes.length) return null;
  const endpoints: Endpoint[] = [];
  for (let at = off + KEY_BYTES + 1; at < end; at += ENDPOINT_BYTES) {
    const ep = decodeEndpoint(bytes.subarray(at, at + ENDPOINT_BYTES));
    if (!ep) return null;
    endpoints.push(ep);
  }
  return { info: { publicKey: bytes.slice(off, off + KEY_BYTES), endpoints }, next: end };
}
