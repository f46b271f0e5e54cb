/**
 * XEdDSA (Signal, "The XEdDSA and VXEdDSA Signature Schemes", 2016): Ed25519-compatible signatures
 * made with a node's X25519 identity key, so one static key serves both Noise and DHT records.
 *
 * Signature layout (64 bytes, identical to Ed25519):
 *
 *   0                31 32               63
 *   +-------------------+-------------------+
 *   | R (encoded point) | s (LE, s < q)     |
 *   +-------------------+-------------------+
 *
 * Signing is BigInt arithmetic (lib/crypto/ed25519_point.ts, not constant time); verification
 * converts the X25519 u to its Edwards key (cached) and runs node:crypto's native Ed25519.
 *
 * Key strictness (tighter than the spec, which masks bit 255 and reduces u mod p): a public key
 * with bit 255 set, with u >= p, with u = -1, off the curve, or of small order is rejected, so
 * each Edwards key has exactly one accepted X25519 spelling and no key is trivially forgeable.
 */
import crypto from "node:crypto";
import {
  bigIntToBytesLE,
  bytesToBigIntLE,
  decodePoint,
  encodePoint,
  isSmallOrder,
  montgomeryUToEdwardsY,
  P,
  Q,
  reduceScalar,
  scalarMultBase,
} from "./ed25519_point.ts";

/** Length in bytes of an XEdDSA signature (R || s). */
export const XEDDSA_SIGNATURE_BYTES = 64;
/** Length in bytes of the fresh randomness (XEdDSA's Z) each signature needs. */
export const XEDDSA_RANDOM_BYTES = 64;
/** Length in bytes of X25519 private and public keys. */
const KEY_BYTES = 32;
/** Converted keys kept before the cache is cleared (bounds memory under key churn). */
const KEY_CACHE_ENTRIES = 4096;

/** hash_1 prefix: 2^256 - 1 - 1 little-endian, i.e. 0xFE followed by 31 bytes of 0xFF. */
const HASH1_PREFIX = new Uint8Array(32).fill(0xff);
HASH1_PREFIX[0] = 0xfe;

/** A converted public key: the Edwards encoding and its node:crypto verifier key. */
interface ConvertedKey {
  readonly edwards: Uint8Array;
  readonly keyObject: crypto.KeyObject;
}

/** Hex of an X25519 public key -> its converted key, or null when the key is invalid. */
const keyCache = new Map<string, ConvertedKey | null>();

function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = crypto.createHash("sha512");
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

/** X25519 clamping of a 32-byte private key, as a scalar. */
function clampScalar(privateKey: Uint8Array): bigint {
  const k = privateKey.slice();
  k[0] = k[0]! & 248;
  k[31] = (k[31]! & 127) | 64;
  return bytesToBigIntLE(k);
}

/** The Edwards signing key of an X25519 private key: a (32 bytes LE) and A = aB, sign bit 0. */
interface SigningKey {
  readonly privateKey: Uint8Array;
  readonly a: bigint;
  readonly aBytes: Uint8Array;
  readonly encodedA: Uint8Array;
}

/** The last signing key derived: a node signs with one identity key, so one entry suffices. */
let lastSigningKey: SigningKey | null = null;

/** XEdDSA calculate_key_pair: E = kB; if E's sign bit is 1 then a = -k, A = -E, else a = k, A = E. */
function signingKey(privateKey: Uint8Array): SigningKey {
  const last = lastSigningKey;
  if (last !== null && last.privateKey.every((b, i) => b === privateKey[i])) return last;
  const k = clampScalar(privateKey);
  const encodedA = encodePoint(scalarMultBase(k));
  let a = k % Q;
  if (encodedA[31]! & 0x80) {
    a = (Q - a) % Q;
    encodedA[31] = encodedA[31]! & 0x7f; // -E: same y, x negated (x != 0 for any k in [1, q))
  }
  lastSigningKey = { privateKey: privateKey.slice(), a, aBytes: bigIntToBytesLE(a), encodedA };
  return lastSigningKey;
}

/**
 * Signs `message` with an X25519 private key; `random` is 64 fresh random bytes (XEdDSA's Z).
 * Returns a new 64-byte signature. Throws RangeError for a private key that is not 32 bytes or
 * `random` that is not 64 bytes. Deterministic given its inputs (the caller owns randomness).
 */
export function xeddsaSign(
  privateKey: Uint8Array,
  message: Uint8Array,
  random: Uint8Array,
): Uint8Array {
  if (privateKey.length !== KEY_BYTES) throw new RangeError("X25519 private keys are 32 bytes");
  if (random.length !== XEDDSA_RANDOM_BYTES) throw new RangeError("XEdDSA needs 64 random bytes");
  const { a, aBytes, encodedA } = signingKey(privateKey);
  const r = reduceScalar(sha512(HASH1_PREFIX, aBytes, message, random));
  const encodedR = encodePoint(scalarMultBase(r));
  const h = reduceScalar(sha512(encodedR, encodedA, message));
  const s = (r + h * a) % Q;
  const signature = new Uint8Array(XEDDSA_SIGNATURE_BYTES);
  signature.set(encodedR, 0);
  signature.set(bigIntToBytesLE(s), 32);
  return signature;
}

function convertKey(publicKey: Uint8Array): ConvertedKey | null {
  if (publicKey.length !== KEY_BYTES) return null;
  const u = bytesToBigIntLE(publicKey);
  if (u >= P) return null; // covers bit 255 set and non-canonical u
  const y = montgomeryUToEdwardsY(u);
  if (y === null) return null;
  const edwards = bigIntToBytesLE(y); // sign bit 0
  const point = decodePoint(edwards);
  if (point === null || isSmallOrder(point)) return null;
  const keyObject = crypto.createPublicKey({
    key: {
      kty: "OKP",
      crv: "Ed25519",
      x: edwards.toBase64({ alphabet: "base64url", omitPadding: true }),
    },
    format: "jwk",
  });
  return { edwards, keyObject };
}

function cachedKey(publicKey: Uint8Array): ConvertedKey | null {
  if (publicKey.length !== KEY_BYTES) return null;
  const id = publicKey.toHex();
  const hit = keyCache.get(id);
  if (hit !== undefined) return hit;
  let converted: ConvertedKey | null;
  try {
    converted = convertKey(publicKey);
  } catch {
    converted = null;
  }
  if (keyCache.size >= KEY_CACHE_ENTRIES) keyCache.clear();
  keyCache.set(id, converted);
  return converted;
}

/**
 * The Ed25519 public key (sign bit 0) that verifies signatures of X25519 key `publicKey`, or null
 * for an invalid key: not 32 bytes, u >= p (including bit 255 set), u = -1 mod p, not on the
 * curve, or of small order. Returns a fresh copy; results are cached (bounded).
 */
export function edwardsKeyOfX25519(publicKey: Uint8Array): Uint8Array | null {
  return cachedKey(publicKey)?.edwards.slice() ?? null;
}

/**
 * True when `signature` is a valid XEdDSA signature of `message` by the X25519 `publicKey`.
 * Never throws for bad input (wrong lengths, non-canonical values: false). Rejects s >= q and
 * any key `edwardsKeyOfX25519` rejects.
 */
export function xeddsaVerify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    if (signature.length !== XEDDSA_SIGNATURE_BYTES) return false;
    if (bytesToBigIntLE(signature.subarray(32)) >= Q) return false;
    const key = cachedKey(publicKey);
    if (key === null) return false;
    return crypto.verify(null, message, key.keyObject, signature);
  } catch {
    return false;
  }
}
