/**
 * A DHT record: a value stored under a key, signed by its owner's X25519 identity key (XEdDSA).
 *
 * ```
 *  0        1                                   7                 11
 * +--------+-----------------------------------+-----------------+
 * | flags  |       seq (u48, big-endian)       | ttl s (u32 BE)  |
 * +--------+-----------------------------------+-----------------+
 * |               owner: X25519 public key (32 bytes)            |
 * +--------+-----------------------------------------------------+
 * | keyLen |  key (keyLen bytes, 1..128)                         |
 * +--------+--------+--------------------------------------------+
 * |   valueLen      |  value (valueLen bytes, 0..768)            |
 * |   (u16 BE)      |                                            |
 * +-----------------+--------------------------------------------+
 * |               signature (64 bytes, XEdDSA)                   |
 * +--------------------------------------------------------------+
 * ```
 * flags: bit 0 = deleted (a signed tombstone; its value is empty). Other bits must be zero.
 * seq: strictly increasing per (key, owner); by convention the owner's wall-clock ms at signing.
 * The signature covers utf8("ipop dht record v1") || every byte above except the signature.
 *
 * @module
 */
import { addressFromBytes, type OverlayAddress } from "../overlay/address.ts";
import { blake2sHash } from "../crypto/blake2s.ts";

/** Longest key, in bytes (keys are 1..128 bytes). */
export const MAX_KEY_BYTES = 128;
/** Longest value, in bytes. */
export const MAX_VALUE_BYTES = 768;
/** Size of the owner's X25519 public key, in bytes. */
export const OWNER_BYTES = 32;
/** Size of an XEdDSA signature, in bytes. */
export const SIGNATURE_BYTES = 64;
/** Longest record lifetime, in seconds (one day). */
export const MAX_TTL_SECONDS = 86_400;
/** Largest sequence number (a u48). */
export const MAX_SEQ = 2 ** 48 - 1;
/** Flag bit: the record is a tombstone. */
export const RECORD_FLAG_DELETED = 1;
/** Bytes of a record before its key: flags, seq, ttl, owner, keyLen. */
export const RECORD_HEADER_BYTES = 1 + 6 + 4 + OWNER_BYTES + 1;
/** Smallest encoded record (1-byte key, empty value), in bytes. */
export const MIN_RECORD_BYTES = RECORD_HEADER_BYTES + 1 + 2 + SIGNATURE_BYTES;
/** Largest encoded record, in bytes. */
export const MAX_RECORD_BYTES = RECORD_HEADER_BYTES + MAX_KEY_BYTES + 2 + MAX_VALUE_BYTES +
  SIGNATURE_BYTES;

const RECORD_DOMAIN = new TextEncoder().encode("ipop dht record v1");
const KEY_DOMAIN = new TextEncoder().encode("ipop dht key");

/** A signed DHT record. Decoded records own their arrays (they never alias the input). */
export interface DhtRecord {
  /** The key, 1..`MAX_KEY_BYTES` (128) bytes. */
  key: Uint8Array;
  /** The value, 0..`MAX_VALUE_BYTES` (768) bytes; empty when `deleted`. */
  value: Uint8Array;
  /** The writer's 32-byte X25519 public key. */
  owner: Uint8Array;
  /** Lifetime in seconds, 1..86400. */
  ttlSeconds: number;
  /** u48, strictly increasing per (key, owner): the owner's wall-clock ms when signed. */
  seq: number;
  /** True for a signed tombstone (a delete). */
  deleted: boolean;
  /** 64-byte signature over `recordSignedBytes(record)`. */
  signature: Uint8Array;
}

/** The fields a writer fills in before signing. */
export type UnsignedRecord = Omit<DhtRecord, "signature">;

/**
 * Signs `message` with the owner's private key (e.g. `xeddsaSign` with the key and 64 fresh
 * random bytes bound in) and returns the 64-byte signature.
 */
export type RecordSigner = (message: Uint8Array) => Uint8Array;

/**
 * Checks `signature` over `message` against the owner's public key (e.g. `xeddsaVerify`).
 * Must not throw; returns false for anything that does not verify.
 */
export type RecordVerifier = (
  owner: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean;

/** True when every field is within its bounds (lengths, ranges, tombstone has no value). */
export function isValidUnsignedRecord(r: UnsignedRecord): boolean {
  return r.key instanceof Uint8Array && r.key.length >= 1 && r.key.length <= MAX_KEY_BYTES &&
    r.value instanceof Uint8Array && r.value.length <= MAX_VALUE_BYTES &&
    r.owner instanceof Uint8Array && r.owner.length === OWNER_BYTES &&
    Number.isInteger(r.ttlSeconds) && r.ttlSeconds >= 1 && r.ttlSeconds <= MAX_TTL_SECONDS &&
    Number.isInteger(r.seq) && r.seq >= 0 && r.seq <= MAX_SEQ &&
    typeof r.deleted === "boolean" && (!r.deleted || r.value.length === 0);
}

/** True when `r` is structurally valid and its signature is 64 bytes (not verified here). */
export function isValidRecord(r: DhtRecord): boolean {
  return isValidUnsignedRecord(r) && r.signature instanceof Uint8Array &&
    r.signature.length === SIGNATURE_BYTES;
}

/** Encoded size of `r` in bytes (assumes `r` is valid). */
export function recordWireBytes(r: UnsignedRecord): number {
  return RECORD_HEADER_BYTES + r.key.length + 2 + r.value.length + SIGNATURE_BYTES;
}

function writeBody(r: UnsignedRecord, out: Uint8Array, at: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[at] = r.deleted ? RECORD_FLAG_DELETED : 0;
  view.setUint16(at + 1, Math.floor(r.seq / 2 ** 32));
  view.setUint32(at + 3, r.seq % 2 ** 32);
  view.setUint32(at + 7, r.ttlSeconds);
  out.set(r.owner, at + 11);
  let p = at + 11 + OWNER_BYTES;
  out[p++] = r.key.length;
  out.set(r.key, p);
  p += r.key.length;
  view.setUint16(p, r.value.length);
  p += 2;
  out.set(r.value, p);
  return p + r.value.length;
}

function checkFields(r: UnsignedRecord): void {
  if (!isValidUnsignedRecord(r)) throw new RangeError("DHT record fields are out of range");
}

/**
 * The bytes a signature covers: utf8("ipop dht record v1") || the record's encoding without
 * its signature. RangeError if a field is out of range.
 */
export function recordSignedBytes(r: UnsignedRecord): Uint8Array {
  checkFields(r);
  const out = new Uint8Array(RECORD_DOMAIN.length + recordWireBytes(r) - SIGNATURE_BYTES);
  out.set(RECORD_DOMAIN, 0);
  writeBody(r, out, RECORD_DOMAIN.length);
  return out;
}

/** Encodes a record (a fresh array). RangeError if a field is out of range. */
export function encodeRecord(r: DhtRecord): Uint8Array {
  if (!isValidRecord(r)) throw new RangeError("DHT record fields are out of range");
  const out = new Uint8Array(recordWireBytes(r));
  const end = writeBody(r, out, 0);
  out.set(r.signature, end);
  return out;
}

/**
 * Decodes one record starting at `offset`. Returns the record (fresh arrays, not views into
 * `bytes`) and the offset just past it, or null when the bytes are short, a length or the ttl
 * is out of range, an unknown flag is set, or a tombstone carries a value. Never throws.
 * The signature is NOT verified.
 */
export function decodeRecord(
  bytes: Uint8Array,
  offset: number,
): { record: DhtRecord; end: number } | null {
  if (!Number.isInteger(offset) || offset < 0 || offset + MIN_RECORD_BYTES > bytes.length) {
    return null;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = bytes[offset]!;
  if ((flags & ~RECORD_FLAG_DELETED) !== 0) return null;
  const seq = view.getUint16(offset + 1) * 2 ** 32 + view.getUint32(offset + 3);
  const ttlSeconds = view.getUint32(offset + 7);
  if (ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) return null;
  const ownerAt = offset + 11;
  let p = ownerAt + OWNER_BYTES;
  const keyLen = bytes[p++]!;
  if (keyLen < 1 || keyLen > MAX_KEY_BYTES) return null;
  const keyAt = p;
  p += keyLen;
  if (p + 2 > bytes.length) return null;
  const valueLen = view.getUint16(p);
  p += 2;
  const deleted = (flags & RECORD_FLAG_DELETED) !== 0;
  if (valueLen > MAX_VALUE_BYTES || (deleted && valueLen !== 0)) return null;
  const valueAt = p;
  p += valueLen;
  if (p + SIGNATURE_BYTES > bytes.length) return null;
  const record: DhtRecord = {
    key: bytes.slice(keyAt, keyAt + keyLen),
    value: bytes.slice(valueAt, valueAt + valueLen),
    owner: bytes.slice(ownerAt, ownerAt + OWNER_BYTES),
    ttlSeconds,
    seq,
    deleted,
    signature: bytes.slice(p, p + SIGNATURE_BYTES),
  };
  return { record, end: p + SIGNATURE_BYTES };
}

/**
 * Signs `fields` with `sign` and returns the complete record (arrays are shared with
 * `fields`). RangeError if a field is out of range or the signer returns other than 64 bytes.
 */
export function signRecord(fields: UnsignedRecord, sign: RecordSigner): DhtRecord {
  const signature = sign(recordSignedBytes(fields));
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
    throw new RangeError("A record signature must be 64 bytes");
  }
  return { ...fields, signature };
}

/**
 * True when `r` is valid and its signature verifies under `r.owner` with `verify`. Never
 * throws (a throwing verifier counts as a failure).
 */
export function verifyRecord(r: DhtRecord, verify: RecordVerifier): boolean {
  if (!isValidRecord(r)) return false;
  try {
    return verify(r.owner, recordSignedBytes(r), r.signature) === true;
  } catch {
    return false;
  }
}

/**
 * The ring position responsible for `key`: the first 20 bytes of
 * BLAKE2s-256(utf8("ipop dht key") || key), read big-endian.
 */
export function dhtKeyPosition(key: Uint8Array): OverlayAddress {
  return addressFromBytes(blake2sHash(KEY_DOMAIN, key));
}

/** True when `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when two records are identical in every field, signature included. */
export function recordsEqual(a: DhtRecord, b: DhtRecord): boolean {
  return a.seq === b.seq && a.ttlSeconds === b.ttlSeconds && a.deleted === b.deleted &&
    bytesEqual(a.key, b.key) && bytesEqual(a.owner, b.owner) && bytesEqual(a.value, b.value) &&
    bytesEqual(a.signature, b.signature);
}
