/**
 * The Noise SymmetricState (Noise spec rev 34 §5.2) with its embedded CipherState (§5.1), for
 * the `ChaChaPoly_BLAKE2s` suite: HASHLEN = 32, HKDF = HMAC-BLAKE2s, cipher = ChaCha20-Poly1305
 * with the nonce `0x00000000 || LE64(n)`.
 *
 * Decryption failure is reported as `null`, never as an exception, so callers decide the error
 * type (the handshake turns it into `HandshakeError`).
 */
import { type Aead, AEAD_TAG_BYTES } from "../crypto/aead.ts";
import { BLAKE2S_HASH_BYTES, blake2sHash, noiseHkdf2, noiseHkdf3 } from "../crypto/blake2s.ts";

const EMPTY = new Uint8Array(0);

/** Noise SymmetricState: chaining key `ck`, handshake hash `h`, and cipher key `k` with nonce `n`. */
export class SymmetricState {
  #ck: Uint8Array;
  #h: Uint8Array;
  #k: Uint8Array | null = null;
  #n = 0;
  readonly #aead: Aead;

  /** `InitializeSymmetric(protocol_name)`: pads the name to 32 bytes or hashes it if longer. */
  constructor(protocolName: string, aead: Aead) {
    this.#aead = aead;
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= BLAKE2S_HASH_BYTES) {
      this.#h = new Uint8Array(BLAKE2S_HASH_BYTES);
      this.#h.set(name);
    } else {
      this.#h = blake2sHash(name);
    }
    this.#ck = this.#h.slice();
  }

  /** The current handshake hash `h` (a copy). */
  handshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  /** True once a cipher key has been mixed in (`HasKey()`). */
  hasKey(): boolean {
    return this.#k !== null;
  }

  /** `MixHash(data)`: h = HASH(h || data). */
  mixHash(data: Uint8Array): void {
    this.#h = blake2sHash(this.#h, data);
  }

  /** `MixKey(ikm)`: ck, k = HKDF(ck, ikm, 2); n = 0. */
  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, k] = noiseHkdf2(this.#ck, inputKeyMaterial);
    this.#replaceKey(ck, k);
  }

  /** `MixKeyAndHash(ikm)`: ck, temp_h, k = HKDF(ck, ikm, 3); MixHash(temp_h); n = 0. */
  mixKeyAndHash(inputKeyMaterial: Uint8Array): void {
    const [ck, tempH, k] = noiseHkdf3(this.#ck, inputKeyMaterial);
    this.mixHash(tempH);
    this.#replaceKey(ck, k);
  }

  /** `EncryptAndHash(plaintext)`: encrypts with ad = h (or copies when no key yet), then MixHash. */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    let ciphertext: Uint8Array;
    if (this.#k === null) {
      ciphertext = plaintext.slice();
    } else {
      ciphertext = new Uint8Array(plaintext.length + AEAD_TAG_BYTES);
      this.#aead.seal(this.#k, this.#n, this.#h, plaintext, ciphertext);
      this.#n++;
    }
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /**
   * `DecryptAndHash(ciphertext)`: the plaintext, or `null` when authentication fails (the state
   * is then unusable; a handshake must be abandoned).
   */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array | null {
    let plaintext: Uint8Array;
    if (this.#k === null) {
      plaintext = ciphertext.slice();
    } else {
      if (ciphertext.length < AEAD_TAG_BYTES) return null;
      plaintext = new Uint8Array(ciphertext.length - AEAD_TAG_BYTES);
      if (this.#aead.open(this.#k, this.#n, this.#h, ciphertext, plaintext) < 0) return null;
      this.#n++;
    }
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** `Split()`: the two transport keys (initiator→responder, responder→initiator). */
  split(): [Uint8Array, Uint8Array] {
    return noiseHkdf2(this.#ck, EMPTY);
  }

  /** Overwrites the chaining key and cipher key with zeros (call when done). */
  destroy(): void {
    this.#ck.fill(0);
    this.#k?.fill(0);
    this.#k = null;
  }

  #replaceKey(ck: Uint8Array, k: Uint8Array): void {
    this.#ck.fill(0);
    this.#k?.fill(0);
    this.#ck = ck;
    this.#k = k;
    this.#n = 0;
  }
}
