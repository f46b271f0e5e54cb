/**
 * The records this node holds as a replica: at most one record per (key, owner), each with a
 * local expiry. Time is passed in by the caller (`now`, ms); the store has no clock and no
 * timers, so the caller drives `sweep` from its own ticker.
 *
 * Bounds: at most `maxRecords` entries in all (tombstones included) and `maxOwnersPerKey`
 * entries per key. A full store refuses new entries rather than evicting live ones.
 *
 * Ownership: the store keeps the `DhtRecord` objects it is given by reference and hands the
 * same objects out; neither side may modify a record after handing it over.
 *
 * @module
 */
import { type DhtRecord, recordsEqual, type RecordVerifier, verifyRecord } from "./dht_record.ts";
import { DhtStatus } from "./dht_message.ts";

/** Default bound on stored entries (tombstones included). */
export const DEFAULT_MAX_RECORDS = 10_000;
/** Default bound on entries (owners) per key. */
export const DEFAULT_MAX_OWNERS_PER_KEY = 8;
const MS_PER_SECOND = 1000;

/** A write operation a replica applies. */
export type StoreOp = "put" | "create" | "renew" | "delete";

/** Options for `RecordStore`. */
export interface RecordStoreOptions {
  /** Signature check (e.g. `xeddsaVerify`); must not throw (a throw counts as a failure). */
  verify: RecordVerifier;
  /** Most entries held, tombstones included. Default 10000. */
  maxRecords?: number;
  /** Most owners (entries) per key. Default 8. */
  maxOwnersPerKey?: number;
}

/** The outcome of `RecordStore.apply`: `records` holds the conflicting records when `Taken`. */
export interface ApplyResult {
  status: DhtStatus;
  records: DhtRecord[];
}

/** A stored record and its local expiry (ms, on the caller's clock). */
export interface StoreEntry {
  record: DhtRecord;
  expiresAt: number;
}

function positiveInt(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
  return v;
}

/** A bounded store of DHT records, keyed by key bytes then owner. */
export class RecordStore {
  readonly #verify: RecordVerifier;
  readonly #maxRecords: number;
  readonly #maxOwnersPerKey: number;
  /** key hex -> owner hex -> entry. Never holds an empty inner map. */
  readonly #keys = new Map<string, Map<string, StoreEntry>>();
  #count = 0;

  /** RangeError when a bound is not a positive integer. */
  constructor(opts: RecordStoreOptions) {
    this.#verify = opts.verify;
    this.#maxRecords = positiveInt(opts.maxRecords, DEFAULT_MAX_RECORDS, "maxRecords");
    this.#maxOwnersPerKey = positiveInt(
      opts.maxOwnersPerKey,
      DEFAULT_MAX_OWNERS_PER_KEY,
      "maxOwnersPerKey",
    );
  }

  /** Entries held, tombstones and not-yet-swept expired entries included. */
  get size(): number {
    return this.#count;
  }

  /**
   * Applies a client write. In order: the record must be valid and its signature verify
   * (else `Rejected`); `delete` needs a tombstone and the other ops a non-tombstone
   * (`Rejected`); against a live record of the same owner, a lower seq is `Rejected`, the same
   * seq is `Ok` if the bytes are identical (a retransmit; nothing changes) and `Rejected`
   * otherwise; `create`/`renew` give `Taken` with the other owners' live records when any
   * exist; a new owner past `maxOwnersPerKey`, or a new entry in a store of `maxRecords`
   * live entries, gives `Full`. On `Ok` the record replaces the owner's previous one and
   * expires at `now + ttl`. A delete stores its tombstone until it expires, so an older copy
   * cannot come back through `accept`.
   */
  apply(op: StoreOp, r: DhtRecord, now: number): ApplyResult {
    if (!verifyRecord(r, this.#verify)) return result(DhtStatus.Rejected);
    if ((op === "delete") !== r.deleted) return result(DhtStatus.Rejected);
    const keyHex = r.key.toHex();
    const ownerHex = r.owner.toHex();
    const owners = this.#liveOwners(keyHex, now);
    const mine = owners?.get(ownerHex);
    if (mine !== undefined) {
      if (r.seq < mine.record.seq) return result(DhtStatus.Rejected);
      if (r.seq === mine.record.seq) {
        return result(recordsEqual(r, mine.record) ? DhtStatus.Ok : DhtStatus.Rejected);
      }
    }
    if (op === "create" || op === "renew") {
      const others = othersLive(owners, ownerHex);
      if (others.length > 0) return { status: DhtStatus.Taken, records: others };
    }
    const stored = this.#store(keyHex, ownerHex, r, now + r.ttlSeconds * MS_PER_SECOND, now);
    return result(stored ? DhtStatus.Ok : DhtStatus.Full);
  }

  /**
   * Stores a record handed over by another replica, expiring at
   * `now + min(remainingTtlMs, ttl)`. Returns false (storing nothing) when the record is
   * invalid or does not verify, `remainingTtlMs` is not positive, the owner's stored record
   * has a higher seq or differs at the same seq, a non-tombstone would join a live record of
   * another owner (a handoff never displaces or joins another owner's record), or a bound is
   * reached. True when stored or already held byte for byte.
   */
  accept(r: DhtRecord, remainingTtlMs: number, now: number): boolean {
    if (!Number.isFinite(remainingTtlMs) || remainingTtlMs <= 0) return false;
    if (!verifyRecord(r, this.#verify)) return false;
    const keyHex = r.key.toHex();
    const ownerHex = r.owner.toHex();
    const owners = this.#liveOwners(keyHex, now);
    const mine = owners?.get(ownerHex);
    if (mine !== undefined) {
      if (r.seq < mine.record.seq) return false;
      if (r.seq === mine.record.seq) return recordsEqual(r, mine.record);
    }
    if (!r.deleted && othersLive(owners, ownerHex).length > 0) return false;
    const lifetimeMs = Math.min(remainingTtlMs, r.ttlSeconds * MS_PER_SECOND);
    return this.#store(keyHex, ownerHex, r, now + lifetimeMs, now);
  }

  /** The live, non-deleted records of `key` (empty when none). */
  get(key: Uint8Array, now: number): DhtRecord[] {
    const owners = this.#liveOwners(key.toHex(), now);
    const out: DhtRecord[] = [];
    if (owners === undefined) return out;
    for (const e of owners.values()) if (!e.record.deleted) out.push(e.record);
    return out;
  }

  /** Live records of `key`, tombstones included (what a replica reports to a get). */
  versions(key: Uint8Array, now: number): DhtRecord[] {
    const owners = this.#liveOwners(key.toHex(), now);
    return owners === undefined ? [] : [...owners.values()].map((e) => e.record);
  }

  /** Ms until the stored entry for `r`'s (key, owner) expires; 0 when none is live. */
  remainingMs(r: DhtRecord, now: number): number {
    const e = this.#keys.get(r.key.toHex())?.get(r.owner.toHex());
    return e === undefined ? 0 : Math.max(0, e.expiresAt - now);
  }

  /** A snapshot of every live entry, tombstones included (for handoffs). */
  entries(now: number): Iterable<StoreEntry> {
    const out: StoreEntry[] = [];
    for (const owners of this.#keys.values()) {
      for (const e of owners.values()) {
        if (e.expiresAt > now) out.push({ record: e.record, expiresAt: e.expiresAt });
      }
    }
    return out;
  }

  /** Removes every entry expired at `now`; returns how many were removed. */
  sweep(now: number): number {
    let removed = 0;
    for (const [keyHex, owners] of this.#keys) {
      for (const [ownerHex, e] of owners) {
        if (e.expiresAt <= now) {
          owners.delete(ownerHex);
          removed++;
        }
      }
      if (owners.size === 0) this.#keys.delete(keyHex);
    }
    this.#count -= removed;
    return removed;
  }

  /** The key's owners with its expired entries dropped; undefined when none is left. */
  #liveOwners(keyHex: string, now: number): Map<string, StoreEntry> | undefined {
    const owners = this.#keys.get(keyHex);
    if (owners === undefined) return undefined;
    for (const [ownerHex, e] of owners) {
      if (e.expiresAt <= now) {
        owners.delete(ownerHex);
        this.#count--;
      }
    }
    if (owners.size > 0) return owners;
    this.#keys.delete(keyHex);
    return undefined;
  }

  /** Stores or replaces the (key, owner) entry; false when a bound forbids a new entry. */
  #store(
    keyHex: string,
    ownerHex: string,
    record: DhtRecord,
    expiresAt: number,
    now: number,
  ): boolean {
    const existing = this.#keys.get(keyHex);
    if (existing?.has(ownerHex) === true) {
      existing.set(ownerHex, { record, expiresAt });
      return true;
    }
    if (existing !== undefined && existing.size >= this.#maxOwnersPerKey) return false;
    if (this.#count >= this.#maxRecords) this.sweep(now);
    if (this.#count >= this.#maxRecords) return false;
    let owners = this.#keys.get(keyHex);
    if (owners === undefined) {
      owners = new Map();
      this.#keys.set(keyHex, owners);
    }
    owners.set(ownerHex, { record, expiresAt });
    this.#count++;
    return true;
  }
}

function result(status: DhtStatus): ApplyResult {
  return { status, records: [] };
}

/** Live non-deleted records of owners other than `ownerHex` (the map is already pruned). */
function othersLive(
  owners: Map<string, StoreEntry> | undefined,
  ownerHex: string,
): DhtRecord[] {
  const out: DhtRecord[] = [];
  if (owners === undefined) return out;
  for (const [hex, e] of owners) if (hex !== ownerHex && !e.record.deleted) out.push(e.record);
  return out;
}
