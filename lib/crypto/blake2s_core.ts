/**
 * BLAKE2s (RFC 7693) as a small state machine that allocates nothing per block: the handshake
 * runs about 25 HMACs, and the general-purpose library spent most of their time creating and
 * cloning hash objects (about 15 µs per HMAC here, against 2 µs for this one).
 *
 * A `Blake2s` keeps its chain value, counter and one buffered block. The last block is only
 * compressed by `digest`, which flags it final, so `update` keeps a full block buffered until more
 * data arrives. `copyFrom` makes a state continue from another (HMAC reuses its keyed states).
 */
import { BLAKE2S_IV, compressBlock } from "./_blake2s_compress.ts";

/** BLAKE2s block size in bytes. */
export const BLAKE2S_BLOCK_BYTES = 64;

/** One BLAKE2s computation (digest length 1..32, optional key 0..32 bytes; caller checks). */
export class Blake2s {
  readonly #h = new Int32Array(8);
  readonly #block = new Uint8Array(BLAKE2S_BLOCK_BYTES);
  #filled = 0;
  /** Bytes compressed so far (before the buffered block). */
  #counter = 0;
  #outBytes: number;

  constructor(outBytes = 32, key?: Uint8Array) {
    this.#outBytes = outBytes;
    this.reset(outBytes, key);
  }

  /** Starts over (as a new state with these parameters). */
  reset(outBytes = this.#outBytes, key?: Uint8Array): this {
    this.#outBytes = outBytes;
    this.#h.set(BLAKE2S_IV);
    this.#h[0] = this.#h[0]! ^ 0x01010000 ^ ((key?.length ?? 0) << 8) ^ outBytes;
    this.#filled = 0;
    this.#counter = 0;
    if (key && key.length > 0) {
      this.#block.fill(0);
      this.#block.set(key);
      this.#filled = BLAKE2S_BLOCK_BYTES;
    }
    return this;
  }

  /** Continues from `other`'s state (same parameters, same data absorbed). */
  copyFrom(other: Blake2s): this {
    this.#h.set(other.#h);
    this.#block.set(other.#block);
    this.#filled = other.#filled;
    this.#counter = other.#counter;
    this.#outBytes = other.#outBytes;
    return this;
  }

  /** Absorbs `data`. */
  update(data: Uint8Array): this {
    let at = 0;
    const n = data.length;
    while (at < n) {
      if (this.#filled === BLAKE2S_BLOCK_BYTES) {
        // More data follows, so the buffered block is not the last one.
        this.#counter += BLAKE2S_BLOCK_BYTES;
        compressBlock(this.#h, this.#block, this.#counter, false);
        this.#filled = 0;
      }
      const take = Math.min(BLAKE2S_BLOCK_BYTES - this.#filled, n - at);
      this.#block.set(data.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
    }
    return this;
  }

  /** Finishes into `out` (at least the digest length); the state must be reset before reuse. */
  digestInto(out: Uint8Array): Uint8Array {
    this.#block.fill(0, this.#filled);
    this.#counter += this.#filled;
    compressBlock(this.#h, this.#block, this.#counter, true);
    const h = this.#h;
    for (let i = 0; i < this.#outBytes; i++) out[i] = h[i >> 2]! >>> (8 * (i & 3));
    return out;
  }

  /** Finishes into a fresh array of the digest length. */
  digest(): Uint8Array {
    return this.digestInto(new Uint8Array(this.#outBytes));
  }
}
