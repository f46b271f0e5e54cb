/** A handle to cancel a scheduled callback. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * The seam for time. Protocol code reads time and schedules work only through a `Clock`, so the
 * same code runs on real timers or in the simulator's virtual time.
 *
 * Contract: `now()` is monotonic milliseconds (not wall time); callbacks run on the event loop,
 * never synchronously inside `setTimer`; a cancelled timer never runs.
 */
export interface Clock {
  /** Monotonic time in milliseconds (fractional allowed). */
  now(): number;
  /** Wall-clock time in milliseconds since the Unix epoch (for timestamps on the wire). */
  wallNow(): number;
  /** Runs `fn` once after `delayMs`. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/** The seam for randomness: protocol code draws random bytes and numbers only from an `Rng`. */
export interface Rng {
  /** Fills `out` with random bytes and returns it. */
  fill(out: Uint8Array): Uint8Array;
  /** A random 32-bit unsigned integer. */
  uint32(): number;
}
