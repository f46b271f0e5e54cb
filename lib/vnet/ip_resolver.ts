import type { Clock } from "../clock/clock.ts";
import type { OutcomeHandler } from "../dht/dht_client.ts";
import { DhtStatus } from "../dht/dht_message.ts";
import { leaseKey } from "../dhcp/subnet.ts";
import { addressOfKey, type OverlayAddress } from "../overlay/address.ts";
import { DEFAULT_POSITIVE_TTL_MS, type ResolverCache } from "./resolver_cache.ts";

/** The slice of `DhtNode` the resolver needs. */
export interface ResolverDht {
  get(key: Uint8Array, done: OutcomeHandler): void;
}

/** Called with the owner of an address, or null when it has none (or the DHT did not answer). */
export type ResolveHandler = (owner: OverlayAddress | null) => void;

/** Defaults: at most 256 addresses being looked up at once, 16 waiters each. */
export const MAX_RESOLVING_ADDRESSES = 256;
/** Callers queued behind one lookup. */
export const MAX_WAITERS_PER_ADDRESS = 16;

/** Counters. */
export interface ResolverStats {
  lookups: number;
  /** Callers refused because too much was being looked up already. */
  overflow: number;
  /** Lookups the DHT did not answer. */
  failed: number;
}

/**
 * Virtual IP → overlay address: a get of the address's lease key in the DHT, cached (the
 * positive entry lives as long as the lease's remaining lifetime, at most the cache's TTL) with
 * negative caching of unowned addresses. Concurrent callers for one address share one lookup;
 * everything waiting is bounded.
 */
export class IpResolver {
  readonly stats: ResolverStats = { lookups: 0, overflow: 0, failed: 0 };
  readonly cache: ResolverCache;
  readonly #dht: ResolverDht;
  readonly #clock: Clock;
  readonly #network: string;
  readonly #waiting = new Map<number, ResolveHandler[]>();

  constructor(dht: ResolverDht, cache: ResolverCache, clock: Clock, network: string) {
    this.#dht = dht;
    this.cache = cache;
    this.#clock = clock;
    this.#network = network;
  }

  /** The cached owner of `ip`: an address, null (known unowned), or undefined (not cached). */
  cached(ip: number): OverlayAddress | null | undefined {
    const found = this.cache.lookup(ip, this.#clock.now());
    return found.kind === "hit" ? found.owner : found.kind === "negative" ? null : undefined;
  }

  /** Resolves `ip`; `done` runs synchronously on a cache hit, later otherwise. */
  resolve(ip: number, done: ResolveHandler): void {
    const cached = this.cached(ip);
    if (cached !== undefined) return done(cached);
    const waiting = this.#waiting.get(ip);
    if (waiting) {
      if (waiting.length >= MAX_WAITERS_PER_ADDRESS) return void this.stats.overflow++;
      return void waiting.push(done);
    }
    if (this.#waiting.size >= MAX_RESOLVING_ADDRESSES) return void this.stats.overflow++;
    this.#waiting.set(ip, [done]);
    this.stats.lookups++;
    this.#dht.get(leaseKey(this.#network, ip), (outcome) => {
      const now = this.#clock.now();
      let owner: OverlayAddress | null = null;
      if (outcome.status === DhtStatus.Ok && outcome.records.length > 0) {
        // One owner unless claims collided; then the oldest claim's owner.
        const held = outcome.records.reduce((a, b) => a.record.seq <= b.record.seq ? a : b);
        owner = addressOfKey(held.record.owner);
        const ttlMs = Math.max(1, Math.min(held.remainingMs, DEFAULT_POSITIVE_TTL_MS));
        this.cache.remember(ip, owner, now, ttlMs);
      } else if (outcome.status === DhtStatus.NotFound) this.cache.rememberNone(ip, now);
      else this.stats.failed++;
      const handlers = this.#waiting.get(ip) ?? [];
      this.#waiting.delete(ip);
      for (const handler of handlers) handler(owner);
    });
  }

  /** Drops what is known of `ip` (its owner is gone, or it was released). */
  forget(ip: number): void {
    this.cache.forget(ip);
  }
}
