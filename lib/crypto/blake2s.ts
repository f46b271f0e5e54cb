/**
 * BLAKE2s (RFC 7693) and the constructions Noise and WireGuard build on it: the plain 32-byte
 * hash, the keyed MAC, HMAC-BLAKE2s (RFC 2104 with a 64-byte block) and the Noise HKDF
 * (Noise spec rev 34 §4.3) with two or three outputs.
 *
 * All functions are pure and synchronous; inputs are never modified and every result is a fresh
 * `Uint8Array` the caller owns.
 */
import { Blake2s, BLAKE2S_BLOCK_BYTES } from "./blake2s_core.ts";

/** Length in bytes of a BLAKE2s-256 digest (Noise's HASHLEN). */
export const BLAKE2S_HASH_BYTES = 32;
/** Longest key the keyed BLAKE2s MAC accepts, in bytes. */
export const BLAKE2S_MAX_KEY_BYTES = 32;

const ONE = Uint8Array.of(0x01);
const TWO = Uint8Array.of(0x02);
const THREE = Uint8Array.of(0x03);
// Reused states: every function here runs to completion without calling back out.
const scratch = new Blake2s();
const innerScratch = new Blake2s();
const pad = new Uint8Array(BLAKE2S_BLOCK_BYTES);
const innerHash = new Uint8Array(BLAKE2S_HASH_BYTES);

/** BLAKE2s-256 of the concatenation of `parts` (no copy of the parts is made). */
export function blake2sHash(...parts: Uint8Array[]): Uint8Array {
  scratch.reset(BLAKE2S_HASH_BYTES);
  for (const part of parts) scratch.update(part);
  return scratch.digest();
}

/** BLAKE2s of `data` with a digest of `outBytes` (1..32; the caller checks). */
export function blake2sDigest(data: Uint8Array, outBytes: number): Uint8Array {
  return scratch.reset(outBytes).update(data).digest();
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
  return scratch.reset(outBytes, key).update(data).digest();
}

/** An HMAC-BLAKE2s key with its padded inner and outer states absorbed once, for several MACs. */
class HmacKey {
  readonly inner = new Blake2s();
  readonly outer = new Blake2s();

  /** Makes this the key `key` (forgetting the previous one). */
  set(key: Uint8Array): this {
    // RFC 2104: a key longer than the block is hashed first.
    const k = key.length > BLAKE2S_BLOCK_BYTES ? blake2sHash(key) : key;
    pad.fill(0x36);
    for (let i = 0; i < k.length; i++) pad[i] = pad[i]! ^ k[i]!;
    this.inner.reset().update(pad);
    pad.fill(0x5c);
    for (let i = 0; i < k.length; i++) pad[i] = pad[i]! ^ k[i]!;
    this.outer.reset().update(pad);
    pad.fill(0);
    return this;
  }

  mac(parts: readonly Uint8Array[]): Uint8Array {
    innerScratch.copyFrom(this.inner);
    for (const part of parts) innerScratch.update(part);
    innerScratch.digestInto(innerHash);
    const out = scratch.copyFrom(this.outer).update(innerHash).digest();
    innerHash.fill(0);
    return out;
  }
}

const keyed = new HmacKey();

/** HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256, block 64 bytes): 32 bytes. */
export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  return keyed.set(key).mac(parts);
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
  const temp = keyed.set(tempKey);
  tempKey.fill(0);
  const out1 = temp.mac([ONE]);
  const out2 = temp.mac([out1, TWO]);
  return [out1, out2];
}

/** Noise `HKDF(chaining_key, input_key_material, 3)`: three 32-byte outputs. */
export function noiseHkdf3(
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
): [Uint8Array, Uint8Array, Uint8Array] {
  const tempKey = hmacBlake2s(chainingKey, inputKeyMaterial);
  const temp = keyed.set(tempKey);
  tempKey.fill(0);
  const out1 = temp.mac([ONE]);
  const out2 = temp.mac([out1, TWO]);
  const out3 = temp.mac([out2, THREE]);
  return [out1, out2, out3];
}
