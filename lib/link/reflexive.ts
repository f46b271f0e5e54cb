import { type Endpoint, sameEndpoint } from "../transport/endpoint.ts";

/** How long a reflexive endpoint is advertised after the last peer reported it. */
export const REFLEXIVE_TTL_MS = 300_000;
/** Reflexive endpoints kept (most recent first). */
export const MAX_REFLEXIVE = 4;

/**
 * The endpoints peers saw us at, most recently reported first. Every handshake reports one
 * (links rekey every two minutes, so a live mapping is reported again and again); one nobody
 * reported for `REFLEXIVE_TTL_MS` is forgotten, so after a NAT rebinding or a move to another
 * network the old mapping stops being advertised.
 */
export class ReflexiveEndpoints {
  #list: Endpoint[] = [];
  #seenAt: number[] = [];

  /** The endpoints, most recently reported first. */
  get list(): readonly Endpoint[] {
    return this.#list;
  }

  /** Records a report at `now`; true when `ep` was not among the endpoints. */
  report(ep: Endpoint, now: number): boolean {
    const i = this.#list.findIndex((e) => sameEndpoint(e, ep));
    if (i >= 0) {
      this.#list.splice(i, 1);
      this.#seenAt.splice(i, 1);
    }
    this.#list = [ep, ...this.#list].slice(0, MAX_REFLEXIVE);
    this.#seenAt = [now, ...this.#seenAt].slice(0, MAX_REFLEXIVE);
    return i < 0;
  }

  /** Forgets endpoints not reported since `now - REFLEXIVE_TTL_MS`. */
  expire(now: number): void {
    const keep = this.#seenAt.findIndex((t) => now - t >= REFLEXIVE_TTL_MS);
    if (keep < 0) return;
    // Most recent first: everything from the first stale one on is stale.
    this.#list = this.#list.slice(0, keep);
    this.#seenAt = this.#seenAt.slice(0, keep);
  }
}
