/**
 * A bounded cache of "which overlay node owns this virtual IPv4 address", in front of the DHT
 * lookup of a lease. An entry is positive (the owner's overlay address) or negative ("nobody
 * holds it", cached briefly so a scan of unused addresses does not flood the DHT), each with its
 * own expiry.
 *
 * Time is the caller's: every method takes `now` in milliseconds from one monotonic clock. An
 * entry stored at `now` with a TTL of `t` ms answers lookups while `now < stored + t` and is gone
 * from `stored + t` on (the boundary itself is expired).
 *
 * The cache never holds more than `maxEntries`: storing a new address into a full cache first
 * drops every expired entry and, if none was expired, the oldest stored one (insertion order;
 * storing an address again counts as a fresh insertion).
 *
 * @module
 */
import type { OverlayAddress } from "../overlay/address.ts";

/** Default bound on cached addresses. */
export const DEFAULT_RESOLVER_MAX_ENTRIES = 4096;
/** Default lifetime of a positive entry, in ms. */
export const DEFAULT_POSITIVE_TTL_MS = 60_000;
/** Default lifetime of a negative entry, in ms. */
export const DEFAULT_NEGATIVE_TTL_MS = 2_000;

/** Tuning of a `ResolverCache`; every field is optional. */
export interface ResolverCacheOptions {
  /** Most entries held at once, an integer >= 1 (default `DEFAULT_RESOLVER_MAX_ENTRIES`). */
  maxEntries?: number;
  /** Lifetime of `remember` entries without their own TTL, ms (default 60 s). */
  positiveTtlMs?: number;
  /** Lifetime of `rememberNone` entries, ms (default 2 s). */
  negativeTtlMs?: number;
}

/** The answer of `ResolverCache.lookup`. */
export type ResolverLookup =
  | { kind: "hit"; owner: OverlayAddress }
  | { kind: "negative" }
  | { kind: "miss" };

/** One live entry, as shown in status. */
export interface ResolverEntry {
  /** The virtual IPv4 address (uint32). */
  ip: number;
  /** "positive": owned by `owner`; "negative": known to be unowned. */
  kind: "positive" | "negative";
  /** The owner of a positive entry; null for a negative one. */
  owner: OverlayAddress | null;
  /** Milliseconds until the entry expires, > 0. */
  expiresInMs: number;
}

interface Slot {
  owner: OverlayAddress | null;
  expiresAtMs: number;
}

/** Virtual IPv4 address -> owning overlay node, with positive and negative expiring entries. */
export class ResolverCache {
  /** Lookups answered with an owner. */
  hits = 0;
  /** Lookups that found nothing live. */
  misses = 0;
  /** Lookups answered "nobody owns it". */
  negativeHits = 0;

  readonly #maxEntries: number;
  readonly #positiveTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #slots = new Map<number, Slot>();
  /** A lower bound on every stored expiry: no entry can have expired before this time. */
  #earliestExpiryMs = Infinity;

  /** Throws `RangeError` for a `maxEntries` below 1 or a negative or non-finite TTL. */
  constructor(opts: ResolverCacheOptions = {}) {
    this.#maxEntries = opts.maxEntries ?? DEFAULT_RESOLVER_MAX_ENTRIES;
    this.#positiveTtlMs = opts.positiveTtlMs ?? DEFAULT_POSITIVE_TTL_MS;
    this.#negativeTtlMs = opts.negativeTtlMs ?? DEFAULT_NEGATIVE_TTL_MS;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new RangeError("maxEntries must be an integer >= 1");
    }
    checkTtl(this.#positiveTtlMs);
    checkTtl(this.#negativeTtlMs);
  }

  /** Number of entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.#slots.size;
  }

  /** The live entry for `ip`, counting a hit, negative hit or miss. Drops an expired entry. */
  lookup(ip: number, now: number): ResolverLookup {
    const slot = this.#slots.get(ip);
    if (slot !== undefined && now >= slot.expiresAtMs) this.#slots.delete(ip);
    if (slot === undefined || now >= slot.expiresAtMs) {
      this.misses++;
      return { kind: "miss" };
    }
    if (slot.owner === null) {
      this.negativeHits++;
      return { kind: "negative" };
    }
    this.hits++;
    return { kind: "hit", owner: slot.owner };
  }

  /**
   * Records that `owner` holds `ip` until `now + ttlMs` (default: the positive TTL), replacing
   * any entry for `ip`. A TTL of 0 just forgets `ip`; a negative or non-finite one throws
   * `RangeError`.
   */
  remember(ip: number, owner: OverlayAddress, now: number, ttlMs?: number): void {
    const ttl = ttlMs ?? this.#positiveTtlMs;
    checkTtl(ttl);
    this.#store(ip, owner, now + ttl, now);
  }

  /** Records that nobody holds `ip` until `now` plus the negative TTL, replacing any entry. */
  rememberNone(ip: number, now: number): void {
    this.#store(ip, null, now + this.#negativeTtlMs, now);
  }

  /** Drops the entry for `ip`; true when there was one. */
  forget(ip: number): boolean {
    return this.#slots.delete(ip);
  }

  /** Drops every positive entry pointing at `owner` (e.g. it left); returns how many. */
  forgetOwner(owner: OverlayAddress): number {
    let dropped = 0;
    for (const [ip, slot] of this.#slots) {
      if (slot.owner === owner) {
        this.#slots.delete(ip);
        dropped++;
      }
    }
    return dropped;
  }

  /** The live entries at `now`, oldest stored first, as plain objects for status. */
  entries(now: number): ResolverEntry[] {
    const out: ResolverEntry[] = [];
    for (const [ip, slot] of this.#slots) {
      if (now >= slot.expiresAtMs) continue;
      out.push({
        ip,
        kind: slot.owner === null ? "negative" : "positive",
        owner: slot.owner,
        expiresInMs: slot.expiresAtMs - now,
      });
    }
    return out;
  }

  #store(ip: number, owner: OverlayAddress | null, expiresAtMs: number, now: number): void {
    this.#slots.delete(ip);
    if (expiresAtMs <= now) return;
    if (this.#slots.size >= this.#maxEntries) this.#makeRoom(now);
    this.#slots.set(ip, { owner, expiresAtMs });
    if (expiresAtMs < this.#earliestExpiryMs) this.#earliestExpiryMs = expiresAtMs;
  }

  /** Frees at least one slot: every expired entry, or else the oldest stored one. */
  #makeRoom(now: number): void {
    if (now >= this.#earliestExpiryMs) {
      let earliest = Infinity;
      for (const [ip, slot] of this.#slots) {
        if (now >= slot.expiresAtMs) this.#slots.delete(ip);
        else if (slot.expiresAtMs < earliest) earliest = slot.expiresAtMs;
      }
      this.#earliestExpiryMs = earliest;
    }
    if (this.#slots.size >= this.#maxEntries) {
      const oldest = this.#slots.keys().next();
      if (!oldest.done) this.#slots.delete(oldest.value);
    }
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new RangeError(`A TTL must be a finite number of ms >= 0, got ${ttlMs}`);
  }
}
