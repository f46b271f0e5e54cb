/**
 * The DHCP invariants of a simulated world, checked from outside the nodes: no two live nodes
 * hold the same address, and a node that was bound keeps its lease and its first address for
 * as long as it lives. The checker reads each node's `LeaseClient` (the same object the node
 * uses); it never asks the DHT to decide, only to describe an incident (which replicas hold
 * which owner's record of the key).
 *
 * @module
 */
import { leaseKey } from "../../lib/dhcp/subnet.ts";
import { dhtKeyPosition } from "../../lib/dht/dht_record.ts";
import { nearestTo } from "../../lib/dht/replica_set.ts";
import { numberToIpv4 } from "../../lib/vnet/ipv4.ts";
import type { LeaseClient } from "../../lib/dhcp/lease_client.ts";
import type { RecordStore } from "../../lib/dht/record_store.ts";
import type { SimHost } from "./world.ts";

/** Incidents described in full; later ones are only counted. */
export const MAX_DESCRIBED_INCIDENTS = 12;

/** What one check saw. */
export interface LeaseSnapshot {
  /** Virtual time of the check, ms. */
  readonly atMs: number;
  readonly live: number;
  /** Live nodes holding a lease. */
  readonly bound: number;
  /** Distinct addresses held by live nodes. */
  readonly distinct: number;
  /** Addresses held by two or more live nodes at this moment. */
  readonly duplicates: number;
}

/** Totals over every `check()` so far. */
export interface LeaseCheckTotals {
  checks: number;
  /** Checks that saw at least one duplicate address. */
  duplicateChecks: number;
  /** Most duplicate addresses seen at one check. */
  maxDuplicates: number;
  /** Distinct addresses ever seen duplicated. */
  duplicatedIps: number;
  /** Live nodes seen without a lease after having been bound. */
  lostNodes: number;
  /** Live nodes seen holding another address than the one they were first bound to. */
  changedNodes: number;
  /** One line per incident, up to `MAX_DESCRIBED_INCIDENTS`. */
  incidents: string[];
}

/** What the checker reads of a host (a `SimHost` is one). */
export type CheckedHost = Pick<SimHost, "index" | "address" | "startedAtMs">;

/** What the checker reads of a world (a `SimWorld` is one). */
export interface CheckedWorld {
  readonly live: readonly CheckedHost[];
  readonly clock: { now(): number };
  liveByAddress(address: bigint): CheckedHost | undefined;
}

/** What the checker reads of a node's stack (a `LeasedNode` is one). */
export interface CheckedNode {
  readonly lease: Pick<LeaseClient, "lease" | "boundAt" | "state">;
  readonly dht: { readonly store: Pick<RecordStore, "get"> };
}

/** Resolves a record owner's public key (hex) to a host index, for incident reports. */
export type OwnerIndex = (ownerHex: string) => number | undefined;

/**
 * Checks the DHCP invariants over the live hosts of `world`, reading their lease clients from
 * `nodes` (the registry of `leasedNodeFactory`, by overlay address). Each `check()` is O(live
 * nodes); a host missing from `nodes` is skipped. A node counts as lost when it has been bound
 * (`boundAt >= 0`) and holds no lease, even if the loss and the bind fell between two checks.
 */
export class LeaseChecker {
  readonly totals: LeaseCheckTotals = {
    checks: 0,
    duplicateChecks: 0,
    maxDuplicates: 0,
    duplicatedIps: 0,
    lostNodes: 0,
    changedNodes: 0,
    incidents: [],
  };
  /** The address each node was first seen bound to. */
  readonly #firstIp = new Map<CheckedHost, number>();
  readonly #firstBoundAt = new Map<CheckedHost, number>();
  readonly #lost = new Set<CheckedHost>();
  readonly #changed = new Set<CheckedHost>();
  readonly #duplicated = new Set<number>();

  constructor(
    private readonly world: CheckedWorld,
    private readonly nodes: ReadonlyMap<bigint, CheckedNode>,
    private readonly network: string,
    private readonly ownerIndex: OwnerIndex = () => undefined,
  ) {}

  /**
   * The clock time a host was first bound, as its `boundAt` read at the first check that saw
   * it bound (`boundAt` itself moves on when a node loses its lease and binds again).
   */
  firstBoundAt(host: CheckedHost): number | undefined {
    return this.#firstBoundAt.get(host);
  }

  /** Checks now without counting into `totals` (e.g. before the checking window starts). */
  peek(): LeaseSnapshot {
    return this.#scan(false);
  }

  /** Checks now and counts what it saw into `totals`. */
  check(): LeaseSnapshot {
    return this.#scan(true);
  }

  #scan(count: boolean): LeaseSnapshot {
    const holders = new Map<number, CheckedHost[]>();
    let bound = 0;
    for (const host of this.world.live) {
      const client = this.nodes.get(host.address)?.lease;
      if (!client) continue;
      const ip = client.lease?.ip;
      if (ip !== undefined) {
        bound++;
        const list = holders.get(ip);
        if (list) list.push(host);
        else holders.set(ip, [host]);
        if (!this.#firstIp.has(host)) {
          this.#firstIp.set(host, ip);
          this.#firstBoundAt.set(host, client.boundAt);
        }
      }
      if (!count) continue;
      const first = this.#firstIp.get(host);
      if (client.boundAt >= 0 && ip === undefined && !this.#lost.has(host)) {
        this.#lost.add(host);
        this.totals.lostNodes++;
        this.#incident(
          `lost: host#${host.index} bound to ${ipText(first)} since ` +
            `${seconds(client.boundAt)} s has no lease (state ${client.state})`,
        );
      }
      if (first !== undefined && ip !== undefined && ip !== first && !this.#changed.has(host)) {
        this.#changed.add(host);
        this.totals.changedNodes++;
        this.#incident(
          `changed: host#${host.index} moved from ${ipText(first)} to ${ipText(ip)}`,
        );
      }
    }
    let duplicates = 0;
    for (const [ip, list] of holders) {
      if (list.length < 2) continue;
      duplicates++;
      if (count && !this.#duplicated.has(ip)) {
        this.#duplicated.add(ip);
        this.totals.duplicatedIps++;
        this.#incident(this.#describeDuplicate(ip, list));
      }
    }
    if (count) {
      this.totals.checks++;
      if (duplicates > 0) this.totals.duplicateChecks++;
      this.totals.maxDuplicates = Math.max(this.totals.maxDuplicates, duplicates);
    }
    return {
      atMs: this.world.clock.now(),
      live: this.world.live.length,
      bound,
      distinct: holders.size,
      duplicates,
    };
  }

  #incident(text: string): void {
    if (this.totals.incidents.length >= MAX_DESCRIBED_INCIDENTS) return;
    this.totals.incidents.push(`${seconds(this.world.clock.now())} s ${text}`);
  }

  /**
   * "duplicate: 100.64.1.2 held by host#3 (bound 10.2 s), host#7 (bound 11.0 s); replicas
   * host#12 [host#3], host#40 [host#7], …": each of the key's 5 true replicas (the live nodes
   * nearest to its position) with the owners of the live records it stores.
   */
  #describeDuplicate(ip: number, list: readonly CheckedHost[]): string {
    const holders = list.map((h) => {
      const c = this.nodes.get(h.address)?.lease;
      return `host#${h.index} (up ${seconds(h.startedAtMs)} s, bound ${
        c ? seconds(c.boundAt) : "?"
      } s)`;
    });
    const key = leaseKey(this.network, ip);
    const now = this.world.clock.now();
    const replicas = nearestTo(dhtKeyPosition(key), this.world.live.map((h) => h.address), 5);
    const views = replicas.map((address) => {
      const host = this.world.liveByAddress(address);
      const node = this.nodes.get(address);
      const owners = node?.dht.store.get(key, now).map((r) => {
        const i = this.ownerIndex(r.owner.toHex());
        return i === undefined ? `?${r.owner.toHex().slice(0, 8)}` : `host#${i}`;
      }) ?? [];
      return `host#${host?.index ?? "?"} [${owners.join(" ")}]`;
    });
    return `duplicate: ${ipText(ip)} held by ${holders.join(", ")}; replicas ${views.join(", ")}`;
  }
}

function ipText(ip: number | undefined): string {
  return ip === undefined ? "?" : numberToIpv4(ip);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
