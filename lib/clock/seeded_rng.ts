import type { Rng } from "./clock.ts";

/**
 * A small, fast, deterministic `Rng` (sfc32, seeded through splitmix32) for tests and the
 * simulator: the same seed always gives the same stream. NOT for keys or anything secret.
 *
 * A string seed is hashed (FNV-1a), so `SEED=abc` and `SEED=123` both work; `seed` keeps the
 * original value so a failing test can print it.
 */
export class SeededRng implements Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(readonly seed: number | string = 1) {
    let s = typeof seed === "string" ? fnv1a(seed) : seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }

  fill(out: Uint8Array): Uint8Array {
    for (let i = 0; i < out.length; i += 4) {
      let w = this.uint32();
      for (let j = i; j < i + 4 && j < out.length; j++) {
        out[j] = w & 0xff;
        w >>>= 8;
      }
    }
    return out;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** A uniform integer in [0, n) for 0 < n <= 2^32 (bias below 2^-32 * n, fine for tests). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An independent generator derived from this one's stream (e.g. one per simulated node). */
  fork(): SeededRng {
    return new SeededRng(this.uint32());
  }
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}
