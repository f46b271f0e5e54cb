/**
 * Socket addresses for the UDP transport: encoding `Endpoint`s into `struct sockaddr_in` /
 * `sockaddr_in6` and decoding received ones back into interned `Endpoint`s.
 *
 * Linux layouts (multi-byte fields are host order = little endian, except port and address
 * which are network order):
 *
 * ```
 * sockaddr_in (16 bytes)              sockaddr_in6 (28 bytes)
 *  0      2      4             8       0      2      4          8                   24        28
 * +------+------+-------------+-----+ +------+------+----------+-------------------+---------+
 * |family| port |  IPv4 addr  |zero | |family| port | flowinfo |   IPv6 addr (16)  |scope_id |
 * | =2 LE| BE   |  (4 bytes)  | (8) | |=10 LE| BE   |  (u32)   |                   |  (u32)  |
 * +------+------+-------------+-----+ +------+------+----------+-------------------+---------+
 * ```
 *
 * A dual-stack (AF_INET6) socket sees IPv4 peers as v4-mapped `::ffff:a.b.c.d`; they are
 * reported as plain family-4 endpoints and family-4 endpoints are sent to as v4-mapped.
 */

import { type Endpoint, parseIpv4, parseIpv6 } from "../lib/transport/endpoint.ts";

/** `AF_INET`. */
export const AF_INET = 2;
/** `AF_INET6`. */
export const AF_INET6 = 10;
/** `sizeof(struct sockaddr_in)`. */
export const SOCKADDR_IN_BYTES = 16;
/** `sizeof(struct sockaddr_in6)`: the size of every name slot. */
export const SOCKADDR_IN6_BYTES = 28;

/** How many distinct senders are interned before the table is cleared (senders are untrusted). */
export const DEFAULT_INTERN_LIMIT = 4096;

/**
 * Encodes `ep` as a sockaddr for a socket of family `socketFamily`, or returns null when the
 * socket cannot reach it (an IPv6 peer from an IPv4 socket, or an unparsable host).
 */
export function encodeSockaddr(ep: Endpoint, socketFamily: 4 | 6): Uint8Array | null {
  if (socketFamily === 4) {
    let v4 = ep.family === 4 ? parseIpv4(ep.host) : null;
    if (ep.family === 6) {
      const v6 = parseIpv6(ep.host);
      if (v6 && isV4Mapped(v6, 0)) v4 = v6.subarray(12);
    }
    if (!v4) return null;
    const out = new Uint8Array(SOCKADDR_IN_BYTES);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, AF_INET, true);
    dv.setUint16(2, ep.port, false);
    out.set(v4, 4);
    return out;
  }
  let v6: Uint8Array | null;
  if (ep.family === 4) {
    const v4 = parseIpv4(ep.host);
    if (!v4) return null;
    v6 = new Uint8Array(16);
    v6[10] = 0xff;
    v6[11] = 0xff;
    v6.set(v4, 12);
  } else {
    v6 = parseIpv6(ep.host);
  }
  if (!v6) return null;
  const out = new Uint8Array(SOCKADDR_IN6_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, AF_INET6, true);
  dv.setUint16(2, ep.port, false);
  out.set(v6, 8);
  return out;
}

/** True when the 16 bytes at `off` are a v4-mapped IPv6 address (`::ffff:a.b.c.d`). */
function isV4Mapped(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false;
  return b[off + 10] === 0xff && b[off + 11] === 0xff;
}

/** Formats 16 address bytes as RFC 5952 text (lower case, longest zero run compressed). */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1; // a single zero word is not compressed
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

interface V6Entry {
  readonly ep: Endpoint;
  readonly addr: Uint8Array;
}

/**
 * Turns received sockaddrs into interned, frozen `Endpoint`s: a known sender costs a map lookup
 * on a numeric key and builds no string. Each table is bounded by `limit` and cleared when full,
 * since senders are attacker controlled. Also caches the encoded sockaddr of every endpoint it
 * is asked to send to (a `WeakMap`, so it never pins endpoints).
 */
export class SockaddrCodec {
  readonly #v4 = new Map<number, Endpoint>();
  readonly #v6 = new Map<number, V6Entry>();
  readonly #encoded = new WeakMap<Endpoint, Uint8Array | null>();

  /** `socketFamily` is the family of the socket the addresses belong to. */
  constructor(readonly socketFamily: 4 | 6, readonly limit = DEFAULT_INTERN_LIMIT) {}

  /** How many endpoints are interned (for tests and status). */
  get size(): number {
    return this.#v4.size + this.#v6.size;
  }

  /** The sockaddr bytes for sending to `ep` (cached), or null when unreachable from this socket. */
  encode(ep: Endpoint): Uint8Array | null {
    let sa = this.#encoded.get(ep);
    if (sa === undefined) {
      sa = encodeSockaddr(ep, this.socketFamily);
      this.#encoded.set(ep, sa);
    }
    return sa;
  }

  /**
   * Decodes the sockaddr at `off` in `bytes` (viewed by `dv`) into an interned endpoint, or null
   * for an unknown address family. v4-mapped IPv6 addresses become family-4 endpoints.
   */
  decode(bytes: Uint8Array, dv: DataView, off: number): Endpoint | null {
    const family = dv.getUint16(off, true);
    const port = dv.getUint16(off + 2, false);
    if (family === AF_INET) return this.#internV4(dv.getUint32(off + 4, false), port);
    if (family !== AF_INET6) return null;
    const a = off + 8;
    if (isV4Mapped(bytes, a)) return this.#internV4(dv.getUint32(a + 12, false), port);
    let h = 0x811c9dc5;
    for (let i = 0; i < 16; i += 4) h = Math.imul(h ^ dv.getUint32(a + i, true), 0x01000193);
    const key = (h >>> 0) * 65536 + port;
    const hit = this.#v6.get(key);
    if (hit && sameBytes16(hit.addr, bytes, a)) return hit.ep;
    const addr = bytes.slice(a, a + 16);
    const ep: Endpoint = Object.freeze({ host: formatIpv6(addr), port, family: 6 });
    if (this.#v6.size >= this.limit) this.#v6.clear();
    this.#v6.set(key, { ep, addr });
    return ep;
  }

  #internV4(ip: number, port: number): Endpoint {
    const key = ip * 65536 + port;
    const hit = this.#v4.get(key);
    if (hit) return hit;
    const host = `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
    const ep: Endpoint = Object.freeze({ host, port, family: 4 });
    if (this.#v4.size >= this.limit) this.#v4.clear();
    this.#v4.set(key, ep);
    return ep;
  }
}

function sameBytes16(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[off + i]) return false;
  return true;
}
