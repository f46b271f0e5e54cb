import type { Endpoint } from "../transport/endpoint.ts";
import { decodeEndpoint, encodeEndpoint, ENDPOINT_BYTES } from "../wire/endpoint_codec.ts";

/**
 * How a node is introduced to another: its static key (its overlay address is derived from it),
 * the endpoints it can be reached at and whether it said it is behind a NAT.
 *
 * ```
 * +-----------------------+-------+---------------------------------+
 * | public key (32)       | flags | endpoints (count × 19 bytes)    |
 * +-----------------------+-------+---------------------------------+
 * flags: bit 7 behind a NAT, bit 6 relayed, bit 5 fans out, bits 0-2 count
 * ```
 */
export interface NodeInfo {
  publicKey: Uint8Array;
  endpoints: Endpoint[];
  /**
   * The node told its neighbours it is behind a NAT: a handshake sent to it before it sent
   * anything our way would make its NAT remap its port, so ask it through the overlay instead.
   */
  behindNat?: boolean;
  /**
   * In a neighbour list: the sender reaches this node through a relay, not over a link of its
   * own (so it is no common neighbour to relay through).
   */
  relayed?: boolean;
  /**
   * The node is behind a NAT that maps every destination to its own port, and links to nodes
   * behind other NATs by birthday punching: it opens a fan of sockets, the other side guesses.
   */
  fansOut?: boolean;
}

/** The most endpoints one node advertises. */
export const MAX_ADVERTISED_ENDPOINTS = 4;
const KEY_BYTES = 32;
const BEHIND_NAT_BIT = 0x80;
const RELAYED_BIT = 0x40;
const FANS_OUT_BIT = 0x20;
const COUNT_MASK = 0x07;

/** Bytes `info` takes on the wire. */
export function nodeInfoBytes(info: NodeInfo): number {
  return KEY_BYTES + 1 + Math.min(info.endpoints.length, MAX_ADVERTISED_ENDPOINTS) * ENDPOINT_BYTES;
}

/** Writes `info` at `off` in `out`; returns the offset after it. */
export function writeNodeInfo(out: Uint8Array, off: number, info: NodeInfo): number {
  out.set(info.publicKey, off);
  const eps = info.endpoints.slice(0, MAX_ADVERTISED_ENDPOINTS);
  out[off + KEY_BYTES] = eps.length | (info.behindNat ? BEHIND_NAT_BIT : 0) |
    (info.relayed ? RELAYED_BIT : 0) | (info.fansOut ? FANS_OUT_BIT : 0);
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
  const flags = bytes[off + KEY_BYTES]!;
  if ((flags & ~(BEHIND_NAT_BIT | RELAYED_BIT | FANS_OUT_BIT | COUNT_MASK)) !== 0) return null;
  const count = flags & COUNT_MASK;
  const end = off + KEY_BYTES + 1 + count * ENDPOINT_BYTES;
  if (count > MAX_ADVERTISED_ENDPOINTS || end > bytes.length) return null;
  const endpoints: Endpoint[] = [];
  for (let at = off + KEY_BYTES + 1; at < end; at += ENDPOINT_BYTES) {
    const ep = decodeEndpoint(bytes.subarray(at, at + ENDPOINT_BYTES));
    if (!ep) return null;
    endpoints.push(ep);
  }
  const publicKey = bytes.slice(off, off + KEY_BYTES);
  const info: NodeInfo = { publicKey, endpoints };
  if ((flags & BEHIND_NAT_BIT) !== 0) info.behindNat = true;
  if ((flags & RELAYED_BIT) !== 0) info.relayed = true;
  if ((flags & FANS_OUT_BIT) !== 0) info.fansOut = true;
  return { info, next: end };
}
