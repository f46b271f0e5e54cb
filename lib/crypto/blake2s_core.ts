/**
 * BLAKE2s (RFC 7693) as a small state machine that allocates nothing per block: the handshake
 * runs about 25 HMACs, and the general-purpose library spent most of their time creating and
 * cloning hash objects (about 15 µs per HMAC here, against 2 µs for this one).
 *
 * A `Blake2s` keeps its chain value, counter and one buffered block. The last block is only
 * compressed by `digest`, which flags it final, so `update` keeps a full block buffered until more
 * data arrives. `copyFrom` makes a state continue from another (HMAC reuses its keyed states).
 */

const IV = Int32Array.of(
  0x6a09e667,
  0xbb67ae85 | 0,
  0x3c6ef372,
  0xa54ff53a | 0,
  0x510e527f,
  0x9b05688c | 0,
  0x1f83d9ab,
  0x5be0cd19,
);

/** The message schedule: which word each G of each round takes. */
const SIGMA = Uint8Array.of(
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  ...[14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  ...[11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  ...[7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  ...[9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  ...[2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  ...[12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  ...[13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  ...[6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  ...[10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
);

/** BLAKE2s block size in bytes. */
export const BLAKE2S_BLOCK_BYTES = 64;

// Scratch shared by every state: compression runs to completion, never re-entered.
const m = new Int32Array(16);
const v = new Int32Array(16);

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
    this.#h.set(IV);
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
        compress(this.#h, this.#block, this.#counter, false);
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
    compress(this.#h, this.#block, this.#counter, true);
    const h = this.#h;
    for (let i = 0; i < this.#outBytes; i++) out[i] = h[i >> 2]! >>> (8 * (i & 3));
    return out;
  }

  /** Finishes into a fresh array of the digest length. */
  digest(): Uint8Array {
    return this.digestInto(new Uint8Array(this.#outBytes));
  }
}

/** The compression function F over `block` with byte counter `t` (< 2^53). */
function compress(h: Int32Array, block: Uint8Array, t: number, last: boolean): void {
  for (let i = 0, j = 0; i < 16; i++, j += 4) {
    m[i] = block[j]! | (block[j + 1]! << 8) | (block[j + 2]! << 16) | (block[j + 3]! << 24);
  }
  v.set(h);
  v.set(IV, 8);
  v[12] = v[12]! ^ (t | 0);
  v[13] = v[13]! ^ Math.floor(t / 0x100000000);
  if (last) v[14] = ~v[14]!;
  let v0 = v[0]!, v1 = v[1]!, v2 = v[2]!, v3 = v[3]!, v4 = v[4]!, v5 = v[5]!, v6 = v[6]!;
  let v7 = v[7]!, v8 = v[8]!, v9 = v[9]!, v10 = v[10]!, v11 = v[11]!, v12 = v[12]!;
  let v13 = v[13]!, v14 = v[14]!, v15 = v[15]!;
  for (let r = 0; r < 160; r += 16) {
    const s = SIGMA;
    // Columns.
    v0 = (v0 + v4 + m[s[r]!]!) | 0, v12 = rotr(v12 ^ v0, 16), v8 = (v8 + v12) | 0;
    v4 = rotr(v4 ^ v8, 12), v0 = (v0 + v4 + m[s[r + 1]!]!) | 0, v12 = rotr(v12 ^ v0, 8);
    v8 = (v8 + v12) | 0, v4 = rotr(v4 ^ v8, 7);
    v1 = (v1 + v5 + m[s[r + 2]!]!) | 0, v13 = rotr(v13 ^ v1, 16), v9 = (v9 + v13) | 0;
    v5 = rotr(v5 ^ v9, 12), v1 = (v1 + v5 + m[s[r + 3]!]!) | 0, v13 = rotr(v13 ^ v1, 8);
    v9 = (v9 + v13) | 0, v5 = rotr(v5 ^ v9, 7);
    v2 = (v2 + v6 + m[s[r + 4]!]!) | 0, v14 = rotr(v14 ^ v2, 16), v10 = (v10 + v14) | 0;
    v6 = rotr(v6 ^ v10, 12), v2 = (v2 + v6 + m[s[r + 5]!]!) | 0, v14 = rotr(v14 ^ v2, 8);
    v10 = (v10 + v14) | 0, v6 = rotr(v6 ^ v10, 7);
    v3 = (v3 + v7 + m[s[r + 6]!]!) | 0, v15 = rotr(v15 ^ v3, 16), v11 = (v11 + v15) | 0;
    v7 = rotr(v7 ^ v11, 12), v3 = (v3 + v7 + m[s[r + 7]!]!) | 0, v15 = rotr(v15 ^ v3, 8);
    v11 = (v11 + v15) | 0, v7 = rotr(v7 ^ v11, 7);
    // Diagonals.
    v0 = (v0 + v5 + m[s[r + 8]!]!) | 0, v15 = rotr(v15 ^ v0, 16), v10 = (v10 + v15) | 0;
    v5 = rotr(v5 ^ v10, 12), v0 = (v0 + v5 + m[s[r + 9]!]!) | 0, v15 = rotr(v15 ^ v0, 8);
    v10 = (v10 + v15) | 0, v5 = rotr(v5 ^ v10, 7);
    v1 = (v1 + v6 + m[s[r + 10]!]!) | 0, v12 = rotr(v12 ^ v1, 16), v11 = (v11 + v12) | 0;
    v6 = rotr(v6 ^ v11, 12), v1 = (v1 + v6 + m[s[r + 11]!]!) | 0, v12 = rotr(v12 ^ v1, 8);
    v11 = (v11 + v12) | 0, v6 = rotr(v6 ^ v11, 7);
    v2 = (v2 + v7 + m[s[r + 12]!]!) | 0, v13 = rotr(v13 ^ v2, 16), v8 = (v8 + v13) | 0;
    v7 = rotr(v7 ^ v8, 12), v2 = (v2 + v7 + m[s[r + 13]!]!) | 0, v13 = rotr(v13 ^ v2, 8);
    v8 = (v8 + v13) | 0, v7 = rotr(v7 ^ v8, 7);
    v3 = (v3 + v4 + m[s[r + 14]!]!) | 0, v14 = rotr(v14 ^ v3, 16), v9 = (v9 + v14) | 0;
    v4 = rotr(v4 ^ v9, 12), v3 = (v3 + v4 + m[s[r + 15]!]!) | 0, v14 = rotr(v14 ^ v3, 8);
    v9 = (v9 + v14) | 0, v4 = rotr(v4 ^ v9, 7);
  }
  h[0] = h[0]! ^ v0 ^ v8, h[1] = h[1]! ^ v1 ^ v9, h[2] = h[2]! ^ v2 ^ v10;
  h[3] = h[3]! ^ v3 ^ v11, h[4] = h[4]! ^ v4 ^ v12, h[5] = h[5]! ^ v5 ^ v13;
  h[6] = h[6]! ^ v6 ^ v14, h[7] = h[7]! ^ v7 ^ v15;
}

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}
