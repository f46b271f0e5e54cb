/**
 * Overlay addresses: positions on the ring of 2^160, held as unsigned `bigint`s in [0, 2^160).
 *
 * A node's address is derived from its static public key (self-certifying: nobody gets an
 * address without holding its key). On the wire an address is 20 bytes, big-endian:
 *
 * ```
 *  0                   1
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9   (byte)
 * +---------------------------------------+
 * |   address, most significant byte 0    |
 * +---------------------------------------+
 * ```
 *
 * @module
 */
import { blake2sDigest } from "../crypto/blake2s.ts";
import type { Rng } from "../clock/clock.ts";

/** Width of an overlay address in bits. */
export const ADDRESS_BITS = 160;
/** Width of an overlay address in bytes (its wire size). */
export const ADDRESS_BYTES = 20;
/** Number of positions on the ring: 2^160. Every address is in [0, RING_SIZE). */
export const RING_SIZE: bigint = 1n << 160n;

/** A position on the overlay ring: an integer in [0, 2^160). */
export type OverlayAddress = bigint;

const ADDRESS_DOMAIN = new TextEncoder().encode("ipop overlay address v1");
const HEX_RE = /^[0-9a-fA-F]{40}$/;
/**
 * Addresses of keys seen lately (a pure function's results; messages name the same few keys
 * over and over). Emptied when full, which bounds it.
 */
const addressCache = new Map<string, OverlayAddress>();
const ADDRESS_CACHE_ENTRIES = 65_536;

/**
 * The overlay address of a public key: BLAKE2s (20-byte digest) over
 * utf8("ipop overlay address v1") || 0x00 || publicKey, read big-endian.
 * Deterministic; any key length is accepted (the caller validates keys).
 */
export function addressOfKey(publicKey: Uint8Array): OverlayAddress {
  const text = publicKey.toBase64();
  const known = addressCache.get(text);
  if (known !== undefined) return known;
  const input = new Uint8Array(ADDRESS_DOMAIN.length + 1 + publicKey.length);
  input.set(ADDRESS_DOMAIN, 0);
  input[ADDRESS_DOMAIN.length] = 0;
  input.set(publicKey, ADDRESS_DOMAIN.length + 1);
  const address = addressFromBytes(blake2sDigest(input, ADDRESS_BYTES));
  if (addressCache.size >= ADDRESS_CACHE_ENTRIES) addressCache.clear();
  addressCache.set(text, address);
  return address;
}

function checkAddress(a: OverlayAddress): void {
  if (typeof a !== "bigint" || a < 0n || a >= RING_SIZE) {
    throw new RangeError(`Overlay address out of range: ${a}`);
  }
}

/** Exactly 40 lowercase hex characters (leading zeros kept). RangeError if `a` is out of range. */
export function addressToHex(a: OverlayAddress): string {
  checkAddress(a);
  return a.toString(16).padStart(ADDRESS_BYTES * 2, "0");
}

/** Parses exactly 40 hex characters (either case, no prefix); RangeError otherwise. */
export function addressFromHex(hex: string): OverlayAddress {
  if (typeof hex !== "string" || !HEX_RE.test(hex)) {
    throw new RangeError("Overlay address must be exactly 40 hex characters");
  }
  return BigInt("0x" + hex);
}

/** The 20-byte big-endian encoding (a fresh array). RangeError if `a` is out of range. */
export function addressToBytes(a: OverlayAddress): Uint8Array {
  const out = new Uint8Array(ADDRESS_BYTES);
  writeAddress(out, 0, a);
  return out;
}

/** Writes the 20-byte encoding of `a` into `out` at `offset`. RangeError if `a` is out of range. */
export function writeAddress(out: Uint8Array, offset: number, a: OverlayAddress): void {
  checkAddress(a);
  // Three word writes instead of twenty 8-bit BigInt shifts (this runs on every message).
  const view = new DataView(out.buffer, out.byteOffset + offset, ADDRESS_BYTES);
  view.setUint32(0, Number(a >> 128n));
  view.setBigUint64(4, BigInt.asUintN(64, a >> 64n));
  view.setBigUint64(12, BigInt.asUintN(64, a));
}

/**
 * Reads a 20-byte big-endian address from `b` at `offset` (default 0). Does not keep `b`.
 * RangeError if fewer than 20 bytes remain or `offset` is not a non-negative integer.
 */
export function addressFromBytes(b: Uint8Array, offset = 0): OverlayAddress {
  if (!Number.isInteger(offset) || offset < 0 || offset + ADDRESS_BYTES > b.length) {
    throw new RangeError(
      `Need ${ADDRESS_BYTES} bytes at offset ${offset} for an overlay address, have ${b.length}`,
    );
  }
  const view = new DataView(b.buffer, b.byteOffset + offset, ADDRESS_BYTES);
  return (BigInt(view.getUint32(0)) << 128n) | (view.getBigUint64(4) << 64n) |
    view.getBigUint64(12);
}

/** A uniformly random address drawn from `rng`. */
export function randomAddress(rng: Rng): OverlayAddress {
  return addressFromBytes(rng.fill(new Uint8Array(ADDRESS_BYTES)));
}
