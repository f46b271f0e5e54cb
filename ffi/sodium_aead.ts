/**
 * `Aead` on libsodium's `crypto_aead_chacha20poly1305_ietf_{encrypt,decrypt}` through
 * `Deno.dlopen`: the data path's cipher. No allocation per call: the key and buffers are passed
 * straight to C (Deno "buffer" parameters honour a view's `byteOffset`), and the 12-byte nonce is
 * written into a field preallocated per instance.
 *
 * libsodium is bound once per process and never closed (like `ffi/libc.ts`). In-place operation
 * (`out` aliasing the input at the same offset) is supported by libsodium for both directions.
 */
import { AEAD_TAG_BYTES, NonceAead } from "../lib/crypto/aead.ts";
import { type Sodium, sodium } from "./libsodium.ts";

/** Lengths up to this many bytes get a cached BigInt (covers any UDP datagram plus tag). */
const CACHED_LENGTHS = 65_536 + AEAD_TAG_BYTES;
const lengthCache: bigint[] = [];

/**
 * A length as the BigInt a `u64` parameter wants. Deno's FFI also takes a plain number there, but
 * then falls off V8's fast-call path (measured ~200-400 ns slower per call), so BigInts are used,
 * cached per length so the data path allocates nothing once warm.
 */
function u64(n: number): bigint {
  if (n < CACHED_LENGTHS) return lengthCache[n] ??= BigInt(n);
  return BigInt(n);
}

/** ChaCha20-Poly1305 through libsodium; see `Aead` in lib/crypto/aead.ts for the contract. */
export class SodiumAead extends NonceAead {
  /** Always `"libsodium"`. */
  readonly name = "libsodium";
  readonly #sodium: Sodium;

  /** Binds libsodium (throws an Error when it is missing or `--allow-ffi` is not granted). */
  constructor() {
    super();
    this.#sodium = sodium();
  }

  protected sealChecked(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): void {
    const rc = this.#sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
      out,
      null,
      plaintext,
      u64(plaintext.length),
      ad,
      u64(ad.length),
      null,
      nonce,
      key,
    );
    if (rc !== 0) throw new Error(`crypto_aead_chacha20poly1305_ietf_encrypt returned ${rc}`);
  }

  protected openChecked(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    ciphertext: Uint8Array,
    out: Uint8Array,
  ): boolean {
    const rc = this.#sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
      out,
      null,
      null,
      ciphertext,
      u64(ciphertext.length),
      ad,
      u64(ad.length),
      nonce,
      key,
    );
    return rc === 0;
  }
}
