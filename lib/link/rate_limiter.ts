import type { Clock } from "../clock/clock.ts";

/** A token bucket on a `Clock`: `ratePerSecond` tokens a second, holding at most `burst`. */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    private readonly clock: Clock,
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    this.#tokens = burst;
    this.#at = clock.now();
  }

  /** Takes one token; false when none is left. */
  take(): boolean {
    const now = this.clock.now();
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + (now - this.#at) * this.ratePerSecond / 1000,
    );
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
