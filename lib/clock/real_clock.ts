import type { Clock, Rng, TimerHandle } from "./clock.ts";

/** The real clock: `performance.now()` and `setTimeout`. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  wallNow(): number {
    return Date.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(id) };
  }
}

/** Cryptographically secure randomness from WebCrypto. */
export class SecureRng implements Rng {
  #word = new Uint32Array(1);

  fill(out: Uint8Array): Uint8Array {
    for (let off = 0; off < out.length; off += 65536) {
      crypto.getRandomValues(out.subarray(off, Math.min(out.length, off + 65536)));
    }
    return out;
  }

  uint32(): number {
    crypto.getRandomValues(this.#word);
    return this.#word[0]!;
  }
}
