import { check, EFD_CLOEXEC, EFD_NONBLOCK, libc, POLLIN } from "./libc.ts";

/**
 * How long the loop may keep the JS thread in its own synchronous `poll` before it gives the
 * Deno event loop a turn (timers, the control socket, signal listeners).
 */
const YIELD_INTERVAL_MS = 10;
/**
 * How often a yield's `poll` on the worker thread waits up to `PARKING_POLL_MS` instead of not
 * at all. A zero-timeout `poll` is done at once, so Deno's runtime, always having a task ready,
 * looked at its own sockets (the control socket) only now and then: an `ipop status` took up to
 * 1.8 s to be answered while the agent carried a ping. While this one waits, the runtime has
 * nothing to run and polls them; our own fds end the wait as soon as one is readable.
 */
const PARKING_YIELD_INTERVAL_MS = 50;
const PARKING_POLL_MS = 1;
/** The most file descriptors one loop watches. */
const MAX_SOURCES = 32;

/**
 * The data path's event loop. It waits for readable file descriptors in a *synchronous* FFI
 * `poll` (a kernel wake-up costs microseconds, where an awaited non-blocking FFI call costs tens
 * of microseconds per wake), calls each ready source's `onReadable`, which drains its fd
 * synchronously, and every `YIELD_INTERVAL_MS` awaits a zero-timeout non-blocking `poll`, which
 * lets Deno run due timers, pending I/O and signal listeners. So no Promise per packet, and
 * timers and other async work run late by at most about `YIELD_INTERVAL_MS`.
 *
 * Contract: `onReadable` must not throw (exceptions are reported to `onError` and the loop goes
 * on); sources are level-triggered, so a partial drain is fine. `stop()` takes effect at the next
 * yield; `run()` resolves after the round in progress.
 */
export class IoLoop {
  readonly #c = libc();
  readonly #wakeFd: number;
  readonly #pollfds = new Uint8Array(8 * MAX_SOURCES);
  readonly #pollView = new DataView(this.#pollfds.buffer);
  #fds: number[] = [];
  #handlers: (() => void)[] = [];
  #afterBurst: (() => void)[] = [];
  #stopped = false;
  /** Bumped whenever the watched set changes: a round polled on an older set is not dispatched. */
  #generation = 0;
  #running: Promise<void> | undefined;
  readonly #wakeBuf = new BigUint64Array([1n]);
  readonly #drainBuf = new Uint8Array(8);

  /** Called with any exception a source throws. */
  onError: (err: unknown) => void = (err) => console.error(err);

  constructor() {
    this.#wakeFd = check("eventfd", this.#c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    this.add(this.#wakeFd, () => {
      while (Number(this.#c.read(this.#wakeFd, this.#drainBuf, 8n)) > 0) { /* drained */ }
    });
  }

  /** Watches `fd`; `onReadable` runs whenever it is readable. */
  add(fd: number, onReadable: () => void): void {
    if (this.#fds.length >= MAX_SOURCES) throw new Error("IoLoop: too many sources");
    this.#fds.push(fd);
    this.#handlers.push(onReadable);
    this.#rebuild();
  }

  /** Stops watching `fd` (takes effect from the next round). */
  remove(fd: number): void {
    const i = this.#fds.indexOf(fd);
    if (i < 0) return;
    this.#fds.splice(i, 1);
    this.#handlers.splice(i, 1);
    this.#rebuild();
    this.wake();
  }

  /** Runs `fn` after every burst of handlers (e.g. to flush batched sends); returns its remover. */
  afterBurst(fn: () => void): () => void {
    this.#afterBurst.push(fn);
    return () => {
      this.#afterBurst = this.#afterBurst.filter((f) => f !== fn);
    };
  }

  /** Runs the loop until `stop()`. Calling it twice returns the same promise. */
  run(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  /** Interrupts a waiting `poll` so the loop sees changes at once. */
  wake(): void {
    this.#c.write(this.#wakeFd, new Uint8Array(this.#wakeBuf.buffer), 8n);
  }

  /** Ends the loop and closes its eventfd once it has stopped. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.wake();
    await this.#running;
    this.#c.close(this.#wakeFd);
  }

  #rebuild(): void {
    this.#generation++;
    this.#pollfds.fill(0);
    this.#fds.forEach((fd, i) => {
      this.#pollView.setInt32(i * 8, fd, true);
      this.#pollView.setInt16(i * 8 + 4, POLLIN, true);
    });
  }

  async #loop(): Promise<void> {
    let lastYield = -Infinity;
    let lastParking = performance.now();
    while (!this.#stopped) {
      const sinceYield = performance.now() - lastYield;
      if (sinceYield >= YIELD_INTERVAL_MS) {
        const parking = performance.now() - lastParking >= PARKING_YIELD_INTERVAL_MS;
        const wait = parking ? PARKING_POLL_MS : 0;
        const generation = this.#generation;
        const ready = await this.#c.poll_wait(this.#pollfds, BigInt(this.#fds.length), wait);
        lastYield = performance.now();
        if (parking) lastParking = lastYield;
        if (this.#stopped) break;
        // Sources added or removed while the worker polled: its results may name other fds
        // (they are level-triggered, so the next round sees them again).
        if (ready > 0 && generation === this.#generation) this.#dispatch(this.#fds.length);
        continue;
      }
      const n = this.#fds.length;
      const wait = Math.ceil(YIELD_INTERVAL_MS - sinceYield);
      if (this.#c.poll(this.#pollfds, BigInt(n), wait) > 0) this.#dispatch(n);
    }
  }

  #dispatch(n: number): void {
    const handlers = this.#handlers.slice(0, n);
    for (let i = 0; i < n; i++) {
      const revents = this.#pollView.getInt16(i * 8 + 6, true);
      if (revents === 0) continue;
      try {
        handlers[i]!();
      } catch (err) {
        this.onError(err);
      }
    }
    for (const fn of this.#afterBurst) {
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
