/**
 * NAT models for `MemNetwork`: a `NatFabric` puts hosts behind simulated NATs and is plugged in
 * as the network's route hook (`network.route = fabric.route`).
 *
 * The topology is one level deep: a NAT's public address sits on the shared "internet" (the
 * underlay), each attached host sits on its NAT's LAN, and hosts attached to no NAT are public.
 *
 * ```text
 *   host A ──┐                           ┌── host C
 *            NAT 1 ── public underlay ── NAT 2
 *   host B ──┘            │
 *                    public host P
 * ```
 *
 * (The simulator's hosts all have 198.18/15 addresses; "private" only means "attached".)
 * NATs are IPv4: a translated source is always an IPv4 endpoint.
 *
 * What `route(from, to)` does with one datagram:
 * - both hosts behind the same NAT, `to` a private address: delivered unchanged (same LAN);
 * - `to` is the sender's own NAT's public address: dropped (no hairpinning, as many home NATs);
 * - `to` is a private address behind another NAT: dropped (not routable from outside);
 * - sender behind a NAT: source rewritten to the NAT's public address and mapped port;
 * - `to` is a NAT's public address: destination rewritten to the private endpoint of the
 *   mapping on that port, if it is live and its filter admits the (translated) sender; else
 *   dropped.
 *
 * @module
 */
import type { Clock, Rng } from "../clock/clock.ts";
import { SeededRng } from "../clock/seeded_rng.ts";
import type { Endpoint } from "./endpoint.ts";
import type { Route, RouteFn } from "./mem_network.ts";
import { Nat, type NatMapping, type NatType } from "./mem_nat_table.ts";

export { Nat, NAT_TYPES, type NatMapping, type NatType } from "./mem_nat_table.ts";

/**
 * How long an idle mapping lives by default, in ms. RFC 4787 REQ-5 asks for at least 2 minutes,
 * but home NATs often use far less for UDP, and 30 s keeps keepalive logic honest.
 */
export const DEFAULT_NAT_MAPPING_TIMEOUT_MS = 30_000;
/** The automatic sweep runs at most this often, in ms, however short the timeout. */
const MIN_SWEEP_INTERVAL_MS = 1_000;

/** Options of a `NatFabric`. */
export interface NatFabricOptions {
  /** Idle time after which a mapping or a filter permission expires, in ms (default 30,000). */
  mappingTimeoutMs?: number;
  /** Seed of the default `rng`, which picks public ports (default 1). */
  seed?: number | string;
  /** Randomness for port allocation (default `new SeededRng(seed)`). */
  rng?: Rng;
  /**
   * Whether admitted inbound datagrams refresh the mapping and their permission (default true,
   * as Linux conntrack; RFC 4787 REQ-6 only requires outbound refresh).
   */
  inboundRefreshes?: boolean;
}

/** Counters of a `NatFabric` (a snapshot). */
export interface NatFabricStats {
  /** Datagrams whose source and/or destination was rewritten. */
  translated: number;
  /** Inbound datagrams refused by a live mapping's filter. */
  droppedByFilter: number;
  /** Inbound datagrams to a public port with no live mapping. */
  droppedNoMapping: number;
  /** Datagrams from a host to its own NAT's public address (hairpinning is not supported). */
  droppedHairpin: number;
  /** Datagrams to a private address behind another NAT. */
  droppedUnroutable: number;
  /** Outbound datagrams dropped because every public port of the NAT was in use. */
  droppedNoPort: number;
  /** Live mappings over all NATs (expired ones are swept before counting). */
  mappings: number;
}

/**
 * The NATs of one simulated network. Deterministic: port choices come from the seeded `rng`
 * and time from `clock`. Expiry is lazy (checked when a mapping or its port is touched) and,
 * so memory stays bounded without help, every NAT is swept at most once per
 * `mappingTimeoutMs` from within `route`; `sweep()` forces it.
 *
 * Contract: `route` is a bound `RouteFn` for `MemNetwork.route`; it never throws. `addNat`
 * and `attach` throw `Error` for addresses already in use, since one host cannot be both a
 * NAT's public address and a private host, nor behind two NATs (NATs do not nest).
 */
export class NatFabric {
  readonly mappingTimeoutMs: number;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #inboundRefreshes: boolean;
  readonly #byPublic = new Map<string, Nat>();
  readonly #attached = new Map<string, Nat>();
  #nextSweepMs: number;
  readonly #counts = {
    translated: 0,
    droppedByFilter: 0,
    droppedNoMapping: 0,
    droppedHairpin: 0,
    droppedUnroutable: 0,
    droppedNoPort: 0,
  };

  constructor(clock: Clock, opts: NatFabricOptions = {}) {
    this.#clock = clock;
    this.mappingTimeoutMs = opts.mappingTimeoutMs ?? DEFAULT_NAT_MAPPING_TIMEOUT_MS;
    if (!(this.mappingTimeoutMs >= 0)) {
      throw new RangeError(`Mapping timeout must be >= 0 ms: ${this.mappingTimeoutMs}`);
    }
    this.#rng = opts.rng ?? new SeededRng(opts.seed ?? 1);
    this.#inboundRefreshes = opts.inboundRefreshes ?? true;
    this.#nextSweepMs = clock.now() + this.#sweepIntervalMs();
  }

  /** Adds a NAT whose public IPv4 address is `publicHost`. */
  addNat(publicHost: string, type: NatType): Nat {
    if (this.#byPublic.has(publicHost) || this.#attached.has(publicHost)) {
      throw new Error(`Cannot add a NAT at ${publicHost}: Address already in use`);
    }
    const nat = new Nat(publicHost, type, this.mappingTimeoutMs, this.#rng);
    this.#byPublic.set(publicHost, nat);
    return nat;
  }

  /** Puts host `privateHost` (every port of it) behind `nat`, which must be one of ours. */
  attach(privateHost: string, nat: Nat): void {
    if (this.#byPublic.get(nat.publicHost) !== nat) {
      throw new Error(`Cannot attach ${privateHost}: The NAT is not part of this fabric`);
    }
    if (this.#byPublic.has(privateHost)) {
      throw new Error(`Cannot attach ${privateHost}: It is a NAT's public address`);
    }
    const current = this.#attached.get(privateHost);
    if (current && current !== nat) {
      throw new Error(`Cannot attach ${privateHost}: Already behind ${current.publicHost}`);
    }
    this.#attached.set(privateHost, nat);
  }

  /** Makes `privateHost` public again (its mappings expire on their own). */
  detach(privateHost: string): void {
    this.#attached.delete(privateHost);
  }

  /** The NAT `host` is behind, or undefined when it is public. */
  natOf(host: string): Nat | undefined {
    return this.#attached.get(host);
  }

  /** The NAT whose public address is `host`, if any. */
  natAt(host: string): Nat | undefined {
    return this.#byPublic.get(host);
  }

  /**
   * The source address the outside sees when `privateEp` sends toward `toward`: the endpoint
   * itself when its host is public, the live mapping's public endpoint when there is one, or
   * null when there is none yet (nothing is created).
   */
  publicEndpointOf(privateEp: Endpoint, toward: Endpoint): Endpoint | null {
    const nat = this.#attached.get(privateEp.host);
    if (!nat) return privateEp;
    const m = nat.find(privateEp, toward, this.#clock.now());
    return m ? { host: nat.publicHost, port: m.publicPort, family: 4 } : null;
  }

  /** The live mappings of `nat` (a snapshot, for tests and status). */
  mappingsOf(nat: Nat): NatMapping[] {
    return nat.mappings(this.#clock.now());
  }

  /**
   * Creates or refreshes the outbound mapping and filter permission of `from` toward `to`
   * exactly as a datagram would, without delivering anything: what a TTL-limited probe does
   * on a real NAT (it crosses the sender's NAT and dies before the far one). Returns the public
   * source endpoint, or null when `from` is public, the pair shares a LAN, or no port is free.
   * Bound, so it can serve as `MemNetwork.primer`.
   */
  readonly primeMapping = (from: Endpoint, to: Endpoint): Endpoint | null => {
    const nat = this.#attached.get(from.host);
    if (!nat || this.#attached.get(to.host) === nat || to.host === nat.publicHost) return null;
    const port = nat.outbound(from, to, this.#clock.now());
    return port === null ? null : { host: nat.publicHost, port, family: 4 };
  };

  /** The `RouteFn` for `MemNetwork.route` (bound, so it can be passed around). */
  readonly route: RouteFn = (from: Endpoint, to: Endpoint): boolean | Route => {
    const now = this.#clock.now();
    if (now >= this.#nextSweepMs) this.sweep();
    const srcNat = this.#attached.get(from.host);
    const dstLan = this.#attached.get(to.host);
    if (srcNat && dstLan === srcNat) return true;
    if (dstLan) {
      this.#counts.droppedUnroutable++;
      return false;
    }
    let src = from;
    if (srcNat) {
      if (to.host === srcNat.publicHost) {
        this.#counts.droppedHairpin++;
        return false;
      }
      const port = srcNat.outbound(from, to, now);
      if (port === null) {
        this.#counts.droppedNoPort++;
        return false;
      }
      src = { host: srcNat.publicHost, port, family: 4 };
    }
    let dst = to;
    const dstNat = this.#byPublic.get(to.host);
    if (dstNat) {
      const r = dstNat.inbound(to.port, src, now, this.#inboundRefreshes);
      if (r === "no-mapping") {
        this.#counts.droppedNoMapping++;
        return false;
      }
      if (r === "filtered") {
        this.#counts.droppedByFilter++;
        return false;
      }
      dst = r;
    }
    if (src === from && dst === to) return true;
    this.#counts.translated++;
    return { from: src, to: dst };
  };

  /** Removes every expired mapping and permission; returns how many mappings went. */
  sweep(): number {
    const now = this.#clock.now();
    this.#nextSweepMs = now + this.#sweepIntervalMs();
    let removed = 0;
    for (const nat of this.#byPublic.values()) removed += nat.sweep(now);
    return removed;
  }

  /** The counters, with `mappings` counted after a sweep. */
  stats(): NatFabricStats {
    this.sweep();
    let mappings = 0;
    for (const nat of this.#byPublic.values()) mappings += nat.size;
    return { ...this.#counts, mappings };
  }

  #sweepIntervalMs(): number {
    return Math.max(this.mappingTimeoutMs, MIN_SWEEP_INTERVAL_MS);
  }
}
