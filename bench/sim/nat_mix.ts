/**
 * NAT mixes for the overlay simulator: which hosts sit behind which kind of NAT, and what the
 * run's links looked like across them.
 *
 * Every NATed host gets a NAT of its own (no two hosts share a LAN): host `i` behind a NAT has
 * the public address `hostIp(NAT_PUBLIC_HOST_BASE + i)`. Host 0 is always public, so the
 * bootstrap is reachable. The first `nodes` hosts get exactly the mix's counts (rounded by
 * largest remainder) in a seeded shuffle; hosts after them (churn joiners) draw their type.
 *
 * @module
 */
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import type { Endpoint } from "../../lib/transport/endpoint.ts";
import {
  NAT_TYPES,
  NatFabric,
  type NatFabricStats,
  type NatType,
} from "../../lib/transport/mem_nat.ts";
import { sortAddresses } from "./metrics.ts";
import { hostIp, MAX_SIM_HOSTS, type SimWorld } from "./world.ts";

/** Host number of the first NAT public address (NAT of host i: `hostIp(BASE + i)`). */
export const NAT_PUBLIC_HOST_BASE = 100_000;
/** The most hosts a NAT mix can place (their NAT addresses must fit in 198.18.0.0/15). */
export const MAX_NAT_SIM_HOSTS = MAX_SIM_HOSTS - NAT_PUBLIC_HOST_BASE;

/** The NAT types a "cone-like" host can get (everything but symmetric). */
export type ConeType = Exclude<NatType, "symmetric">;
/** Where a host sits: on the public underlay or behind its own NAT of this type. */
export type Placement = "public" | NatType;

/** Fractions of hosts that are public, behind a cone-like NAT, behind a symmetric NAT. */
export interface NatMix {
  readonly public: number;
  readonly cone: number;
  readonly symmetric: number;
  /** The cone-like type, or "mixed": full-cone, address- and port-restricted in equal parts. */
  readonly coneType: ConeType | "mixed";
}

/**
 * Parses `--nat-mix P,C,S` (three fractions >= 0 summing to 1 within 1e-6) and `--cone TYPE`
 * ("mixed" or a cone-like `NatType`; default "mixed"). Throws `RangeError` on bad input.
 */
export function parseNatMix(text: string, cone = "mixed"): NatMix {
  const parts = text.split(",").map((s) => Number(s.trim()));
  if (parts.length !== 3 || parts.some((v) => !Number.isFinite(v) || v < 0 || v > 1)) {
    throw new RangeError(`--nat-mix must be three fractions P,C,S: ${text}`);
  }
  const [p, c, s] = parts as [number, number, number];
  if (Math.abs(p + c + s - 1) > 1e-6) {
    throw new RangeError(`--nat-mix fractions must sum to 1: ${text}`);
  }
  const coneTypes: readonly string[] = NAT_TYPES.filter((t) => t !== "symmetric");
  if (cone !== "mixed" && !coneTypes.includes(cone)) {
    throw new RangeError(`--cone must be mixed or one of ${coneTypes.join(", ")}: ${cone}`);
  }
  return { public: p, cone: c, symmetric: s, coneType: cone as ConeType | "mixed" };
}

/** "0.2,0.5,0.3 (cone = port-restricted)". */
export function formatNatMix(mix: NatMix): string {
  return `${mix.public},${mix.cone},${mix.symmetric} (cone = ${mix.coneType})`;
}

/**
 * Places simulated hosts behind NATs according to a mix. Install it with `install(network)`
 * (sets `route` and `primer`) and call `place(index, endpoint)` before host `index` starts
 * (the `SimWorld` `onSpawn` hook). Deterministic from the seed.
 */
export class NatPlan {
  readonly fabric: NatFabric;
  readonly mix: NatMix;
  readonly #rng: SeededRng;
  readonly #planned: Placement[];
  readonly #placements: Placement[] = [];

  constructor(world: Pick<SimWorld, "clock">, mix: NatMix, nodes: number, seed: number) {
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NAT_SIM_HOSTS) {
      throw new RangeError(`A NAT mix supports 1..${MAX_NAT_SIM_HOSTS} nodes: ${nodes}`);
    }
    this.mix = mix;
    this.#rng = new SeededRng(`nat-mix-${seed}`);
    this.fabric = new NatFabric(world.clock, { rng: this.#rng.fork() });
    this.#planned = planPlacements(mix, nodes, this.#rng.fork());
  }

  /** Plugs the fabric into the world's network (route hook and TTL-limited primers). */
  install(world: Pick<SimWorld, "network">): void {
    world.network.route = this.fabric.route;
    world.network.primer = this.fabric.primeMapping;
  }

  /** Puts host `index` (listening on `ep`) where the plan says; returns where that is. */
  readonly place = (index: number, ep: Endpoint): Placement => {
    const p = this.#planned[index] ?? this.#draw();
    this.#placements[index] = p;
    if (p !== "public") {
      const nat = this.fabric.addNat(hostIp(NAT_PUBLIC_HOST_BASE + index), p);
      this.fabric.attach(ep.host, nat);
    }
    return p;
  };

  /** Where host `index` was placed (undefined before `place`). */
  placementOf(index: number): Placement | undefined {
    return this.#placements[index];
  }

  /** Whether host `index` was placed on the public underlay. */
  isPublic(index: number): boolean {
    return this.#placements[index] === "public";
  }

  /** Counters of the NAT fabric. */
  stats(): NatFabricStats {
    return this.fabric.stats();
  }

  #draw(): Placement {
    const x = this.#rng.float();
    if (x < this.mix.public) return "public";
    if (x >= this.mix.public + this.mix.cone) return "symmetric";
    return this.#coneOf(this.#rng.int(3));
  }

  #coneOf(k: number): ConeType {
    if (this.mix.coneType !== "mixed") return this.mix.coneType;
    return (["full-cone", "address-restricted", "port-restricted"] as const)[k % 3]!;
  }
}

/** Exact counts for `nodes` hosts, host 0 public, the rest in a seeded shuffle. */
function planPlacements(mix: NatMix, nodes: number, rng: SeededRng): Placement[] {
  const raw = [mix.public * nodes, mix.cone * nodes, mix.symmetric * nodes];
  const counts = raw.map(Math.floor);
  let left = nodes - counts.reduce((a, b) => a + b, 0);
  const order = [0, 1, 2].sort((a, b) => (raw[b]! - counts[b]!) - (raw[a]! - counts[a]!));
  for (const i of order) {
    if (left <= 0) break;
    counts[i]!++;
    left--;
  }
  if (counts[0]! < 1) {
    counts[0] = 1; // host 0 is always public: take it from the largest other group
    const j = counts[1]! >= counts[2]! ? 1 : 2;
    counts[j]!--;
  }
  const rest: Placement[] = [];
  for (let i = 1; i < counts[0]!; i++) rest.push("public");
  const coneTypes = ["full-cone", "address-restricted", "port-restricted"] as const;
  for (let i = 0; i < counts[1]!; i++) {
    rest.push(mix.coneType === "mixed" ? coneTypes[i % 3]! : mix.coneType);
  }
  for (let i = 0; i < counts[2]!; i++) rest.push("symmetric");
  for (let i = rest.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  return ["public", ...rest];
}

/** How live nodes reach a ring neighbour (tallied by the pair's placements). */
export interface PairTally {
  direct: number;
  relay: number;
  /** The neighbour is not among the node's connections at all. */
  missing: number;
}

/** The NAT figures of a run (snake_case: part of the `--json` output). */
export interface NatReport {
  mix: string;
  /** Live hosts by placement ("public" or a NAT type). */
  hosts_by_type: Record<string, number>;
  /** Of all live connections: the fraction that are direct links and the fraction relayed. */
  direct_share: number;
  relayed_share: number;
  /** Each live node's link to its ring successor, by "placement<->placement" (sorted). */
  successor_links: Record<string, PairTally>;
  /** The same toward each node's ring predecessor (a relay may exist one way only). */
  predecessor_links: Record<string, PairTally>;
  fabric: NatFabricStats;
}

/** Measures the NAT figures of the live hosts of `world` now (one `status()` per node). */
export function natReport(world: SimWorld, plan: NatPlan): NatReport {
  const byType: Record<string, number> = {};
  let direct = 0;
  let relay = 0;
  const live = world.live;
  const sorted = sortAddresses(live.map((h) => h.address));
  const n = sorted.length;
  const rank = new Map(sorted.map((a, i) => [a, i]));
  const succs: Record<string, PairTally> = {};
  const preds: Record<string, PairTally> = {};
  for (const h of live) {
    const own = plan.placementOf(h.index) ?? "public";
    byType[own] = (byType[own] ?? 0) + 1;
    const conns = h.node.status().connections;
    for (const c of conns) {
      if (c.kind === "relay") relay++;
      else direct++;
    }
    if (n < 2) continue;
    const r = rank.get(h.address)!;
    for (const [pairs, at] of [[succs, (r + 1) % n], [preds, (r - 1 + n) % n]] as const) {
      const other = world.liveByAddress(sorted[at]!);
      if (!other) continue;
      const key = [own, plan.placementOf(other.index) ?? "public"].sort().join("<->");
      const t = pairs[key] ??= { direct: 0, relay: 0, missing: 0 };
      const hex = other.address.toString(16).padStart(40, "0");
      const link = conns.find((c) => c.address === hex);
      if (!link) t.missing++;
      else if (link.kind === "relay") t.relay++;
      else t.direct++;
    }
  }
  const total = Math.max(1, direct + relay);
  return {
    mix: formatNatMix(plan.mix),
    hosts_by_type: byType,
    direct_share: round4(direct / total),
    relayed_share: round4(relay / total),
    successor_links: sortedKeys(succs),
    predecessor_links: sortedKeys(preds),
    fabric: plan.stats(),
  };
}

/** One line per pair kind, e.g. "public<->symmetric 12 direct / 3 relay / 0 missing". */
export function formatPairLinks(pairs: Record<string, PairTally>): string[] {
  return Object.entries(pairs).map(([k, t]) =>
    `${k} ${t.direct} direct / ${t.relay} relay / ${t.missing} missing`
  );
}

function sortedKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a < b ? -1 : 1));
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** Appends each host's placement to `describeInconsistent` lines ("host#7 …" → "… [symmetric]"). */
export function annotateSample(lines: readonly string[], plan: NatPlan): string[] {
  return lines.map((l) => {
    const m = /^host#(\d+)/.exec(l);
    return m ? `${l} [${plan.placementOf(Number(m[1])) ?? "?"}]` : l;
  });
}
