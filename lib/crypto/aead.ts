/**
 * ChaCha20-Poly1305 (RFC 8439) behind one small interface, so the per-packet data path can use
 * libsodium (`ffi/sodium_aead.ts`) and everything else, tests included, the node:crypto version
 * here. Both produce identical bytes.
 *
 * Nonce layout (Noise / WireGuard convention, 12 bytes):
 *
 * ```
 *  0               4                                  12
 * +---------------+-----------------------------------+
 * | 00 00 00 00   | counter, 64-bit little-endian     |
 * +---------------+-----------------------------------+
 * ```
 *
 * Sealed layout: `ciphertext (same length as plaintext) || tag (16 bytes)`.
 */
import crypto from "node:crypto";

/** Length in bytes of the Poly1305 tag appended to every ciphertext. */
export const AEAD_TAG_BYTES = 16;
/** Length in bytes of a ChaCha20-Poly1305 key. */
export const AEAD_KEY_BYTES = 32;
/** Length in bytes of the RFC 8439 nonce. */
export const AEAD_NONCE_BYTES = 12;
/** Largest counter an `Aead` accepts (JS numbers are exact up to 2^53 - 1). */
export const AEAD_MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/**
 * ChaCha20-Poly1305 (RFC 8439), 32-byte key, 16-byte tag. Nonce = 4 zero bytes || 8-byte
 * little-endian counter (the Noise/WireGuard convention).
 *
 * Contract:
 * - Buffers are owned by the caller and only borrowed for the duration of the call; the
 *   implementation keeps no reference to `key`, `ad`, the input or `out`.
 * - `counter` is an integer in 0..2^53-1. Reusing a (key, counter) pair breaks confidentiality;
 *   preventing that is the caller's job.
 * - Calls are synchronous and the objects hold only scratch state, so one instance may be shared
 *   by any number of keys/sessions on the same thread.
 */
export interface Aead {
  /** `"libsodium"` or `"node:crypto"`. */
  readonly name: string;
  /**
   * Encrypts plaintext into out (out.length >= plaintext.length + 16; out may be the same memory
   * as plaintext, starting at the same offset). Returns ciphertext length. Throws `RangeError`
   * for a key that is not 32 bytes, a bad counter or an `out` that is too short.
   */
  seal(
    key: Uint8Array,
    counter: number,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): number;
  /**
   * Decrypts ciphertext (incl. tag) into out (may alias at same offset); returns plaintext
   * length, or -1 when authentication fails (never throws for bad input: a short ciphertext, a
   * short `out`, a bad key length or counter all give -1). After a failure the first
   * `ciphertext.length - 16` bytes of `out` are unspecified.
   */
  open(
    key: Uint8Array,
    counter: number,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    out: Uint8Array,
  ): number;
}

/** True when `counter` is usable as an `Aead` counter. */
export function isValidCounter(counter: number): boolean {
  return Number.isInteger(counter) && counter >= 0 && counter <= AEAD_MAX_COUNTER;
}

/** Writes the Noise nonce for `counter` into `nonce` (12 bytes, no allocation). */
export function writeNonce(nonce: Uint8Array, counter: number): void {
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 0x1_0000_0000) >>> 0;
  nonce[0] = 0;
  nonce[1] = 0;
  nonce[2] = 0;
  nonce[3] = 0;
  nonce[4] = lo & 0xff;
  nonce[5] = (lo >>> 8) & 0xff;
  nonce[6] = (lo >>> 16) & 0xff;
  nonce[7] = lo >>> 24;
  nonce[8] = hi & 0xff;
  nonce[9] = (hi >>> 8) & 0xff;
  nonce[10] = (hi >>> 16) & 0xff;
  nonce[11] = hi >>> 24;
}

/**
 * The part every `Aead` shares: counter nonces and argument checks. A subclass supplies the
 * cipher itself, on an explicit 12-byte nonce and with arguments already checked.
 */
export abstract class NonceAead implements Aead {
  abstract readonly name: string;
  readonly #nonce = new Uint8Array(AEAD_NONCE_BYTES);

  /** See {@link Aead.seal}. */
  seal(
    key: Uint8Array,
    counter: number,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): number {
    if (!isValidCounter(counter)) throw new RangeError("AEAD counter must be 0..2^53-1");
    writeNonce(this.#nonce, counter);
    return this.sealWithNonce(key, this.#nonce, ad, plaintext, out);
  }

  /** See {@link Aead.open}. */
  open(
    key: Uint8Array,
    counter: number,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    out: Uint8Array,
  ): number {
    if (!isValidCounter(counter)) return -1;
    writeNonce(this.#nonce, counter);
    return this.openWithNonce(key, this.#nonce, ad, ciphertext, out);
  }

  /** `seal` with an explicit 12-byte RFC 8439 nonce (for known-answer tests). */
  sealWithNonce(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): number {
    if (key.length !== AEAD_KEY_BYTES) throw new RangeError("AEAD keys are 32 bytes");
    if (nonce.length !== AEAD_NONCE_BYTES) throw new RangeError("AEAD nonces are 12 bytes");
    const sealedLength = plaintext.length + AEAD_TAG_BYTES;
    if (out.length < sealedLength) throw new RangeError("AEAD output buffer too short");
    this.sealChecked(key, nonce, ad, plaintext, out);
    return sealedLength;
  }

  /** `open` with an explicit 12-byte RFC 8439 nonce (for known-answer tests). */
  openWithNonce(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    out: Uint8Array,
  ): number {
    const plainLength = ciphertext.length - AEAD_TAG_BYTES;
    if (
      plainLength < 0 || out.length < plainLength || key.length !== AEAD_KEY_BYTES ||
      nonce.length !== AEAD_NONCE_BYTES
    ) return -1;
    return this.openChecked(key, nonce, ad, ciphertext, out) ? plainLength : -1;
  }

  /** Writes ciphertext and tag (`plaintext.length + 16` bytes) into `out`. */
  protected abstract sealChecked(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): void;

  /** Writes the plaintext into `out`; false when the tag does not verify. Never throws. */
  protected abstract openChecked(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    out: Uint8Array,
  ): boolean;
}

/**
 * `Aead` on node:crypto's `chacha20-poly1305`. Allocates per call (node's cipher objects), so it
 * is the portable fallback and the handshake's cipher, not the fast path.
 */
export class NodeAead extends NonceAead {
  /** Always `"node:crypto"`. */
  readonly name = "node:crypto";

  protected sealChecked(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): void {
    const cipher = crypto.createCipheriv("chacha20-poly1305", key, nonce, {
      authTagLength: AEAD_TAG_BYTES,
    });
    cipher.setAAD(ad, { plaintextLength: plaintext.length });
    // update() returns a fresh buffer, so writing it into `out` is safe when out aliases input.
    const body = cipher.update(plaintext);
    const rest = cipher.final();
    out.set(body, 0);
    out.set(rest, body.length);
    out.set(cipher.getAuthTag(), plaintext.length);
  }

  protected openChecked(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    out: Uint8Array,
  ): boolean {
    const plainLength = ciphertext.length - AEAD_TAG_BYTES;
    try {
      const decipher = crypto.createDecipheriv("chacha20-poly1305", key, nonce, {
        authTagLength: AEAD_TAG_BYTES,
      });
      decipher.setAuthTag(ciphertext.subarray(plainLength));
      decipher.setAAD(ad, { plaintextLength: plainLength });
      const body = decipher.update(ciphertext.subarray(0, plainLength));
      const rest = decipher.final(); // throws when the tag does not verify
      out.set(body, 0);
      out.set(rest, body.length);
      return true;
    } catch {
      return false;
    }
  }
}
