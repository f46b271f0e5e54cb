/**
 * BLAKE2s (RFC 7693) and the constructions Noise and WireGuard build on it: the plain 32-byte
 * hash, the keyed MAC, HMAC-BLAKE2s (RFC 2104 with a 64-byte block) and the Noise HKDF
 * (Noise spec rev 34 §4.3) with two or three outputs.
 *
 * All functions are pure and synchronous; inputs are never modified and every result is a fresh
 * `Uint8Array` the caller owns.
 */
import { blake2s } from "@noble/hashes/blake2.js";
import { hmac } from "@noble/hashes/hmac.js";

/** Length in bytes of a BLAKE2s-256 digest (Noise's HASHLEN). */
export const BLAKE2S_HASH_BYTES = 32;
/** Longest key the keyed BLAKE2s MAC accepts, in bytes. */
export const BLAKE2S_MAX_KEY_BYTES = 32;

const ONE = Uint8Array.of(0x01);

/** BLAKE2s-256 of the concatenation of `parts` (no copy of the parts is made). */
export function blake2sHash(...parts: Uint8Array[]): Uint8Array {
  const h = blake2s.create({ dkLen: BLAKE2S_HASH_BYTES });
  for (const part of parts) h.update(part);
  return h.digest();
}

/**
 * Keyed BLAKE2s (the RFC 7693 MAC mode): `key` is 1..32 bytes, `outBytes` 1..32 (WireGuard's
 * `mac1`/`mac2` use 16). Throws `RangeError` for lengths out of range.
 */
export function blake2sMac(
  key: Uint8Array,
  data: Uint8Array,
  outBytes: number = BLAKE2S_HASH_BYTES,
): Uint8Array {
  if (key.length < 1 || key.length > BLAKE2S_MAX_KEY_BYTES) {
    throw new RangeError("BLAKE2s keys are 1 to 32 bytes");
  }
  if (!Number.isInteger(outBytes) || outBytes < 1 || outBytes > BLAKE2S_HASH_BYTES) {
    throw new RangeError("BLAKE2s output is 1 to 32 bytes");
  }
  return blake2s(data, { key, dkLen: outBytes });
}

/** HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256, block 64 bytes): 32 bytes. */
export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = hmac.create(blake2s, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Noise `HKDF(chaining_key, input_key_material, 2)`: two 32-byte outputs.
 *
 * temp_key = HMAC(ck, ikm); out1 = HMAC(temp_key, 0x01); out2 = HMAC(temp_key, out1 || 0x02).
 */
export function noiseHkdf2(
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
): [Uint8Array, Uint8Array] {
  const tempKey = hmacBlake2s(chainingKey, inputKeyMaterial);
  const out1 = hmacBlake2s(tempKey, ONE);
  const out2 = hmacBlake2s(tempKey, out1, Uint8Array.of(0x02));
  tempKey.fill(0);
  return [out1, out2];
}

/** Noise `HKDF(chaining_key, input_key_material, 3)`: three 32-byte outputs. */
export function noiseHkdf3(
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
): [Uint8Array, Uint8Array, Uint8Array] {
  const tempKey = hmacBlake2s(chainingKey, inputKeyMaterial);
  const out1 = hmacBlake2s(tempKey, ONE);
  const out2 = hmacBlake2s(tempKey, out1, Uint8Array.of(0x02));
  const out3 = hmacBlake2s(tempKey, out2, Uint8Array.of(0x03));
  tempKey.fill(0);
  return [out1, out2, out3];
}
