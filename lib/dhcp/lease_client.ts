import type { TimerHandle } from "../clock/clock.ts";
import type { Clock, Rng } from "../clock/clock.ts";
import { DhtStatus } from "../dht/dht_message.ts";
import type { RecordDraft } from "../dht/dht_node.ts";
import type { OutcomeHandler } from "../dht/dht_client.ts";
import { numberToIpv4 } from "../vnet/ipv4.ts";
import { firstChoice, isAssignable, leaseKey, randomChoice, type Subnet } from "./subnet.ts";

/** The slice of `DhtNode` DHCP needs. */
export interface LeaseDht {
  create(draft: RecordDraft, done: OutcomeHandler): void;
  renew(draft: RecordDraft, done: OutcomeHandler): void;
  delete(key: Uint8Array, ttlSeconds: number, done: OutcomeHandler): void;
}

/** A held address. */
export interface Lease {
  /** The address, as a 32-bit number. */
  ip: number;
  prefix: number;
  /** Clock time (ms) at which the lease runs out unless renewed. */
  expiresAt: number;
}

/** Tuning knobs of DHCP. Durations in milliseconds. */
export interface LeaseTuning {
  /** Lifetime of a claim; renewed at half of it. */
  leaseSeconds: number;
  /** Wait between tries when the DHT did not answer (the claim or renewal is tried again). */
  retryMs: number;
  /** How often a node that has not joined the ring yet looks again before claiming. */
  joinPollMs: number;
  /** Addresses tried before giving up for a while (a full subnet). */
  maxCandidates: number;
}

/** Defaults: 2-minute leases renewed every minute. */
export const DEFAULT_LEASE_TUNING: LeaseTuning = {
  leaseSeconds: 120,
  retryMs: 1_000,
  joinPollMs: 250,
  maxCandidates: 64,
};

/** What the client needs. */
export interface LeaseClientOptions {
  dht: LeaseDht;
  clock: Clock;
  rng: Rng;
  network: string;
  subnet: Subnet;
  /** This node's public key: the first choice derives from it (the same address after a restart). */
  publicKey: Uint8Array;
  /** Claim exactly this address (`--address`); when taken, `onRefused` is called. */
  staticIp?: number;
  /** Ask for this address first (the last lease, after a restart); then as usual. */
  preferredIp?: number;
  /** True once the node may claim (it has joined the ring: a lone node would claim alone). */
  ready(): boolean;
  /**
   * True while no other node is linked. A lease won alone is stored only here: once others are
   * around (and `ready` again), it is renewed at once, which writes it to the replicas that
   * should hold it, or finds that another node claimed the address meanwhile.
   */
  alone?(): boolean;
  /** The lease was obtained, or (null) lost. */
  onLease(lease: Lease | null): void;
  /** A static address is held by another node. */
  onRefused?(ip: number, ownerKey: Uint8Array | null): void;
  tuning?: Partial<LeaseTuning>;
}

/** Where the client is. */
export type LeaseState = "waiting" | "claiming" | "bound" | "refused" | "released";

/**
 * DHCP over the DHT: a node claims `ip/<network>/<address>` with a create (first writer wins at
 * a majority of the replicas), starting from an address derived from its key and moving on to
 * random ones when an address is taken; renews at half the lease time (and keeps the address
 * while renewals are retried: only a "taken" answer, which a live owner never gets, loses it);
 * and deletes the claim on release.
 */
export class LeaseClient {
  readonly tuning: LeaseTuning;
  state: LeaseState = "waiting";
  lease: Lease | null = null;
  /** Addresses found taken while claiming. */
  collisions = 0;
  /** Clock time of the first claim attempt and of the lease, for join-to-lease figures. */
  claimStartedAt = -1;
  boundAt = -1;
  readonly #opts: LeaseClientOptions;
  #candidate = 0;
  #tried = 0;
  #timer: TimerHandle | null = null;
  #closed = false;

  constructor(opts: LeaseClientOptions) {
    this.#opts = opts;
    this.tuning = { ...DEFAULT_LEASE_TUNING, ...opts.tuning };
  }

  /** Starts claiming as soon as the node is ready. */
  start(): void {
    this.#after(0, () => this.#waitReady());
  }

  /** Deletes the claim (clean exit); `done` is called when the DHT answered or gave up. */
  release(done: () => void = () => {}): void {
    this.#timer?.cancel();
    const lease = this.lease;
    this.state = "released";
    this.lease = null;
    if (!lease) return done();
    const key = leaseKey(this.#opts.network, lease.ip);
    this.#opts.dht.delete(key, this.tuning.leaseSeconds, () => done());
  }

  /** Stops timers without releasing (a crash-like stop, or after `release`). */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #waitReady(): void {
    if (!this.#opts.ready()) return this.#after(this.tuning.joinPollMs, () => this.#waitReady());
    this.state = "claiming";
    this.claimStartedAt = this.#opts.clock.now();
    const { staticIp, subnet, publicKey, network } = this.#opts;
    const preferred = this.#opts.preferredIp;
    this.#candidate = staticIp ??
      (preferred !== undefined && isAssignable(subnet, preferred)
        ? preferred
        : firstChoice(subnet, publicKey, network));
    this.#claim();
  }

  #claim(): void {
    const ip = this.#candidate;
    this.#opts.dht.create(this.#draft(ip), (outcome) => {
      if (this.#closed || this.state !== "claiming") return;
      if (outcome.status === DhtStatus.Ok) return this.#bound(ip);
      if (outcome.status === DhtStatus.Taken) {
        this.collisions++;
        // Our claim may have reached a minority of the replicas: take it back there.
        this.#opts.dht.delete(leaseKey(this.#opts.network, ip), this.tuning.leaseSeconds, () => {});
        if (this.#opts.staticIp !== undefined) {
          this.state = "refused";
          return this.#opts.onRefused?.(ip, outcome.records[0]?.record.owner ?? null);
        }
        this.#tried++;
        const pause = this.#tried % this.tuning.maxCandidates === 0;
        this.#candidate = this.#another(ip);
        return this.#after(pause ? this.tuning.retryMs * 10 : 0, () => this.#claim());
      }
      // No answer from a majority: try the same address again (the claim may be ours already).
      this.#after(this.tuning.retryMs, () => this.#claim());
    });
  }

  #bound(ip: number): void {
    const now = this.#opts.clock.now();
    const first = this.state !== "bound";
    this.state = "bound";
    this.lease = {
      ip,
      prefix: this.#opts.subnet.prefix,
      expiresAt: now + this.tuning.leaseSeconds * 1000,
    };
    if (first) {
      this.boundAt = now;
      this.#opts.onLease(this.lease);
    }
    if (this.#opts.alone?.()) return this.#awaitCompany(now + this.tuning.leaseSeconds * 500);
    this.#after(this.tuning.leaseSeconds * 500, () => this.#renew());
  }

  /** Bound alone: renew as soon as others are around (or at `renewAt` anyway). */
  #awaitCompany(renewAt: number): void {
    const company = !this.#opts.alone?.() && this.#opts.ready();
    if (company || this.#opts.clock.now() >= renewAt) return this.#renew();
    this.#after(this.tuning.joinPollMs, () => this.#awaitCompany(renewAt));
  }

  #renew(): void {
    const lease = this.lease;
    if (this.state !== "bound" || !lease) return;
    this.#opts.dht.renew(this.#draft(lease.ip), (outcome) => {
      if (this.#closed || this.state !== "bound" || this.lease !== lease) return;
      if (outcome.status === DhtStatus.Ok) return this.#bound(lease.ip);
      if (outcome.status === DhtStatus.Taken) return this.#lost();
      this.#after(this.tuning.retryMs, () => this.#renew());
    });
  }

  /** Another node holds our address at a majority: give it up and claim again. */
  #lost(): void {
    this.lease = null;
    this.#opts.onLease(null);
    if (this.#opts.staticIp !== undefined) {
      this.state = "refused";
      return this.#opts.onRefused?.(this.#opts.staticIp, null);
    }
    this.state = "claiming";
    this.#candidate = randomChoice(this.#opts.subnet, this.#opts.rng);
    this.#claim();
  }

  /** A random address other than `ip` (when the subnet has another). */
  #another(ip: number): number {
    for (let i = 0; i < 8; i++) {
      const next = randomChoice(this.#opts.subnet, this.#opts.rng);
      if (next !== ip) return next;
    }
    return randomChoice(this.#opts.subnet, this.#opts.rng);
  }

  #draft(ip: number): RecordDraft {
    return {
      key: leaseKey(this.#opts.network, ip),
      value: new Uint8Array(0),
      ttlSeconds: this.tuning.leaseSeconds,
    };
  }

  #after(ms: number, fn: () => void): void {
    this.#timer?.cancel();
    if (this.#closed) return;
    this.#timer = this.#opts.clock.setTimer(ms, fn);
  }

  /** The address as text, for logs. */
  static format(lease: Lease): string {
    return `${numberToIpv4(lease.ip)}/${lease.prefix}`;
  }
}
