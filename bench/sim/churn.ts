/**
 * Churn: nodes replaced at a steady rate. Each event ends one uniformly random live node and
 * starts a fresh one (a new host, a new key) that bootstraps from two random live nodes (public
 * ones in a NAT mix: a node behind a NAT is no bootstrap address) (as an
 * operator would give two `--bootstrap` addresses: with one, a joiner whose only bootstrap node
 * crashes before it linked to anyone else has nobody left to ask; a run of 1,000 joins had one).
 * A fraction `crashFraction` of the exits (default 0.5) are crashes (`close()`), the rest clean
 * `leave()`s, interleaved evenly and deterministically (0.5 alternates leave, crash, leave…).
 *
 * @module
 */
import type { TimerHandle } from "../../lib/clock/clock.ts";
import type { ExitKind, SimHost, SimWorld } from "./world.ts";

/** Options of a `ChurnDriver`. */
export interface ChurnOptions {
  /** Fraction of `baseNodes` replaced per simulated minute (0.1 = 10%/min). */
  readonly ratePerMinute: number;
  /** The population the rate applies to. */
  readonly baseNodes: number;
  /** A new node prefers a bootstrap node that has been up at least this long (virtual ms). */
  readonly bootstrapMinAgeMs: number;
  /** Fraction of exits that are crashes rather than clean leaves (default 0.5). */
  readonly crashFraction?: number;
  /** Which live nodes may be bootstrap nodes (default: all; in a NAT mix, public ones only). */
  readonly canBootstrap?: (h: SimHost) => boolean;
}

/** Counts of what a `ChurnDriver` did. */
export interface ChurnCounts {
  left: number;
  crashed: number;
  joined: number;
}

/** Virtual ms between two churn events for a rate and population (Infinity for none). */
export function churnIntervalMs(ratePerMinute: number, baseNodes: number): number {
  const perMinute = ratePerMinute * baseNodes;
  return perMinute > 0 ? 60_000 / perMinute : Infinity;
}

/** Replaces nodes on a clock timer between `start()` and `stop()`. */
export class ChurnDriver {
  readonly counts: ChurnCounts = { left: 0, crashed: 0, joined: 0 };
  readonly #intervalMs: number;
  #timer: TimerHandle | null = null;
  #events = 0;

  constructor(private readonly world: SimWorld, private readonly opts: ChurnOptions) {
    this.#intervalMs = churnIntervalMs(opts.ratePerMinute, opts.baseNodes);
  }

  /** Starts replacing nodes (the first event one interval from now). */
  start(): void {
    if (this.#timer || !Number.isFinite(this.#intervalMs)) return;
    this.#schedule();
  }

  /** Stops; no event runs after this. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** One churn event now: one node out, one node in. */
  replaceOne(): void {
    const world = this.world;
    const victim = world.randomLive();
    if (!victim || world.live.length < 2) return;
    const f = this.opts.crashFraction ?? 0.5;
    const k = this.#events++;
    const how: ExitKind = Math.floor((k + 1) * f) > Math.floor(k * f) ? "crash" : "leave";
    world.end(victim, how);
    if (how === "leave") this.counts.left++;
    else this.counts.crashed++;
    const now = world.clock.now();
    const can = this.opts.canBootstrap ?? (() => true);
    const old = (h: SimHost) => now - h.startedAtMs >= this.opts.bootstrapMinAgeMs && can(h);
    const first = world.randomLive(old);
    const second = first && world.randomLive((h) => h !== first && old(h));
    world.spawn([first, second].flatMap((h) => h ? [h.endpoint] : []));
    this.counts.joined++;
  }

  #schedule(): void {
    this.#timer = this.world.clock.setTimer(this.#intervalMs, () => {
      this.#schedule(); // first, so that a node exception in replaceOne() does not stop churn
      this.replaceOne();
    });
  }
}
