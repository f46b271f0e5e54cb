import type { Clock, TimerHandle } from "./clock.ts";

/** The wall-clock time virtual time 0 maps to by default (2024-01-01T00:00:00Z). */
export const DEFAULT_VIRTUAL_EPOCH_MS = 1_704_067_200_000;

/** Thrown by `runUntilIdle` when events keep coming past its limit (a livelock, usually). */
export class StillBusyError extends Error {
  override name = "StillBusyError";
}

/** Cancelled events kept in the heap before a compaction is considered. */
const COMPACT_MIN_DEAD = 1024;

interface VirtualEvent {
  readonly time: number;
  readonly seq: number;
  fn: (() => void) | null;
}

/**
 * A discrete-event `Clock` for tests and the simulator: time moves only when the owner calls
 * `advance`, `runUntil`, `runUntilIdle` or `step`. Events run in time order, and events due at
 * the same time run in the order they were scheduled. A callback that throws propagates out of
 * the call that ran it; the clock stays consistent and later events still run on the next call.
 *
 * Contract (as `Clock`): callbacks never run inside `setTimer`; a cancelled timer never runs;
 * negative or NaN delays count as 0.
 */
export class VirtualClock implements Clock {
  #now = 0;
  #seq = 0;
  #live = 0;
  #heap: VirtualEvent[] = [];

  /** `epochMs` is the wall time at virtual time 0. */
  constructor(readonly epochMs: number = DEFAULT_VIRTUAL_EPOCH_MS) {}

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.epochMs + this.#now;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const delay = delayMs > 0 ? delayMs : 0;
    const ev: VirtualEvent = { time: this.#now + delay, seq: this.#seq++, fn };
    this.#push(ev);
    this.#live++;
    return {
      cancel: () => {
        if (ev.fn === null) return;
        ev.fn = null;
        this.#live--;
        // Cancelled events are dropped lazily; compact when they dominate (timers reset often).
        const dead = this.#heap.length - this.#live;
        if (dead > COMPACT_MIN_DEAD && dead > this.#live) this.#compact();
      },
    };
  }

  /** How many scheduled timers have neither run nor been cancelled. */
  get pending(): number {
    return this.#live;
  }

  /** The time of the next live event, or undefined when idle. */
  nextEventTime(): number | undefined {
    this.#dropCancelled();
    return this.#heap[0]?.time;
  }

  /** Runs the next live event (moving time to it); false when there is none. */
  step(): boolean {
    this.#dropCancelled();
    const ev = this.#pop();
    if (!ev) return false;
    this.#run(ev);
    return true;
  }

  /** Runs every event due up to `now() + ms`, then sets the time to exactly that. */
  advance(ms: number): void {
    this.runUntil(this.#now + Math.max(0, ms));
  }

  /** Runs every event due up to `timeMs` (including ones they schedule), then sets the time. */
  runUntil(timeMs: number): void {
    for (;;) {
      this.#dropCancelled();
      const top = this.#heap[0];
      if (!top || top.time > timeMs) break;
      this.#run(this.#pop()!);
    }
    if (timeMs > this.#now) this.#now = timeMs;
  }

  /**
   * Runs events until none are left; returns how many ran. Throws `StillBusyError` after
   * `maxEvents` (default 1,000,000) so a self-rescheduling timer cannot hang a test.
   */
  runUntilIdle(maxEvents = 1_000_000): number {
    let ran = 0;
    while (this.#live > 0) {
      if (ran >= maxEvents) {
        throw new StillBusyError(`Still ${this.#live} timers pending after ${ran} events`);
      }
      this.step();
      ran++;
    }
    return ran;
  }

  #run(ev: VirtualEvent): void {
    const fn = ev.fn!;
    ev.fn = null;
    this.#live--;
    this.#now = ev.time;
    fn();
  }

  #compact(): void {
    // A sorted array is a valid min-heap.
    this.#heap = this.#heap.filter((e) => e.fn !== null).sort((a, b) =>
      a.time - b.time || a.seq - b.seq
    );
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.fn === null) this.#pop();
  }

  // A binary min-heap ordered by (time, seq).

  #push(ev: VirtualEvent): void {
    const h = this.#heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!before(ev, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = ev;
  }

  #pop(): VirtualEvent | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[child]!, last)) break;
      h[i] = h[child]!;
      i = child;
    }
    h[i] = last;
    return top;
  }
}

function before(a: VirtualEvent, b: VirtualEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
