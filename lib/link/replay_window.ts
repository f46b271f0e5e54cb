import { REJECT_AFTER_MESSAGES, REPLAY_WINDOW_COUNTERS } from "./constants.ts";

const BITS_PER_WORD = 32;
/** One word more than the window so that advancing never clears bits still inside it. */
const WORDS = REPLAY_WINDOW_COUNTERS / BITS_PER_WORD + 1;

/**
 * A sliding-window replay filter over message counters (the bitmap scheme of RFC 6479).
 *
 * `mayAccept` is the cheap test before decryption; `accept` records a counter after the message
 * authenticated, and refuses it if it was seen (or fell out of the window) meanwhile.
 */
export class ReplayWindow {
  #top = -1;
  readonly #bitmap = new Uint32Array(WORDS);

  /** True when `counter` is new and inside the window. */
  mayAccept(counter: number): boolean {
    if (counter >= REJECT_AFTER_MESSAGES || counter < 0) return false;
    if (counter > this.#top) return true;
    if (this.#top - counter >= REPLAY_WINDOW_COUNTERS) return false;
    const word = Math.floor(counter / BITS_PER_WORD) % WORDS;
    return (this.#bitmap[word]! & (1 << (counter % BITS_PER_WORD))) === 0;
  }

  /** Records `counter`; false when it must be rejected as a replay or as too old. */
  accept(counter: number): boolean {
    if (!this.mayAccept(counter)) return false;
    if (counter > this.#top) {
      const topWord = this.#top < 0 ? -1 : Math.floor(this.#top / BITS_PER_WORD);
      const newWord = Math.floor(counter / BITS_PER_WORD);
      const advance = Math.min(newWord - topWord, WORDS);
      for (let i = 1; i <= advance; i++) this.#bitmap[(topWord + i) % WORDS] = 0;
      this.#top = counter;
    }
    this.#bitmap[Math.floor(counter / BITS_PER_WORD) % WORDS]! |= 1 << (counter % BITS_PER_WORD);
    return true;
  }
}
