/**
 * One DHCP simulation run: join N full nodes (overlay + DHT + lease client) with claims held
 * back, wait for a consistent ring, let every node claim at once, then optionally churn while
 * checking every virtual second that no two live nodes hold the same address and that no bound
 * node loses or changes its address, then a quiet window and a final check. A pure function of
 * its options (same seed, same figures), apart from the wall times it reports.
 *
 * @module
 */
import type { Aead } from "../../lib/crypto/aead.ts";
import type { X25519 } from "../../lib/crypto/x25519.ts";
import type { LeaseTuning } from "../../lib/dhcp/lease_client.ts";
import { formatSubnet, type Subnet } from "../../lib/dhcp/subnet.ts";
import type { DhtTuning } from "../../lib/dht/dht_tuning.ts";
import type { Logger } from "../../lib/log.ts";
import { OverlayKind } from "../../lib/overlay/overlay_message.ts";
import { ChurnDriver } from "./churn.ts";
import type { DhcpSimResult, TimeStats } from "./dhcp_report.ts";
import { LeaseChecker } from "./lease_checker.ts";
import { type LeasedNode, leasedNodeFactory } from "./leased_node_factory.ts";
import { percentile } from "./metrics.ts";
import type { SimNodeFactory } from "./sim_node.ts";
import { SimWorld } from "./world.ts";

/** Options of `runDhcpSimulation` (see `DEFAULT_DHCP_SIM_OPTIONS` for the tunables). */
export interface DhcpSimOptions {
  nodes: number;
  seed: number;
  /** Fraction of the nodes replaced per simulated minute (0: no churn phase). */
  churn: number;
  /** Length of the churn phase, virtual ms. */
  durationMs: number;
  /** Fraction of churn exits that are crashes (the rest leave cleanly, releasing). */
  crashFraction: number;
  subnet: Subnet;
  /** The network name in lease keys (`ip/<network>/<a.b.c.d>`). */
  network: string;
  /** Virtual ms between two node starts during the join. */
  joinIntervalMs: number;
  latencyMs: number;
  jitterMs: number;
  lossRate: number;
  /** Give up waiting for a consistent ring after this long (from the last start), virtual ms. */
  maxConvergeMs: number;
  /** Give up waiting for every node to be bound after the gate opens, virtual ms. */
  claimWaitMs: number;
  /** Quiet window after churn before the final check, virtual ms. */
  quietMs: number;
  /** During churn, a new node bootstraps from a node up at least this long, virtual ms. */
  settleMs: number;
  /** Invariants (and ring consistency, while waiting) are checked this often, virtual ms. */
  checkEveryMs: number;
  aead: Aead;
  /** X25519 for identities and handshakes (default node:crypto's). */
  x25519?: X25519;
  logger?: Logger;
  /** Lease and DHT tuning overrides (defaults: the production ones). */
  lease?: Partial<LeaseTuning>;
  dht?: Partial<DhtTuning>;
  /** Receives a progress line about once per wall second. */
  progress?: (line: string) => void;
  /** Called with each node as it is created (host index, its stack): for tracing. */
  onNode?: (index: number, node: LeasedNode) => void;
}

/** Defaults for everything but the AEAD, the X25519 and the subnet. */
export const DEFAULT_DHCP_SIM_OPTIONS: Omit<DhcpSimOptions, "aead" | "x25519" | "subnet"> = {
  nodes: 100,
  seed: 1,
  churn: 0,
  durationMs: 600_000,
  crashFraction: 0.5,
  network: "sim",
  joinIntervalMs: 10,
  latencyMs: 20,
  jitterMs: 10,
  lossRate: 0,
  maxConvergeMs: 300_000,
  claimWaitMs: 60_000,
  quietMs: 30_000,
  settleMs: 10_000,
  checkEveryMs: 1_000,
};

/** The default subnet of the DHCP simulation, as CIDR text. */
export const DEFAULT_DHCP_SIM_SUBNET = "100.64.0.0/16";

/** Runs one DHCP simulation (synchronously: virtual time only) and returns its figures. */
export function runDhcpSimulation(opts: DhcpSimOptions): DhcpSimResult {
  const wall0 = performance.now();
  const wall: Record<string, number> = {};
  let phaseStart = wall0;
  let phase = "join";
  const endPhase = (next: string) => {
    const t = performance.now();
    wall[phase] = round((t - phaseStart) / 1000, 2);
    phaseStart = t;
    phase = next;
  };
  let gateOpen = false;
  let dhtSent = 0;
  const owners = new Map<string, number>();
  const leased = leasedNodeFactory({
    network: opts.network,
    subnet: opts.subnet,
    mayClaim: () => gateOpen,
    lease: opts.lease,
    dht: opts.dht,
  });
  const nodes = leased.nodes;
  const factory: SimNodeFactory = (parts) => {
    const node = leased.factory(parts);
    const index = world.hosts.length; // the host being spawned
    owners.set(parts.identity.publicKey.toHex(), index);
    const stack = nodes.get(node.address)!;
    opts.onNode?.(index, stack);
    const overlay = stack.overlay;
    const send = overlay.sendKind.bind(overlay);
    overlay.sendKind = (kind, dst, mode, body) => {
      if (kind === OverlayKind.Dht) dhtSent++;
      send(kind, dst, mode, body);
    };
    return node;
  };
  const world: SimWorld = new SimWorld({
    seed: opts.seed,
    factory,
    aead: opts.aead,
    x25519: opts.x25519,
    latencyMs: opts.latencyMs,
    jitterMs: opts.jitterMs,
    lossRate: opts.lossRate,
    logger: opts.logger,
  });
  const checker = new LeaseChecker(world, nodes, opts.network, (hex) => owners.get(hex));
  const boundCount = () => {
    let n = 0;
    for (const h of world.live) if (nodes.get(h.address)?.lease.lease) n++;
    return n;
  };
  let lastPrint = performance.now();
  const tick = () => {
    const t = performance.now();
    if (!opts.progress || t - lastPrint < 1000) return;
    lastPrint = t;
    const tot = checker.totals;
    opts.progress(
      `dhcp ${phase} t=${(world.clock.now() / 1000).toFixed(1)}s live=${world.live.length} ` +
        `started=${world.hosts.length} bound=${boundCount()} dup_s=${tot.duplicateChecks} ` +
        `lost=${tot.lostNodes} changed=${tot.changedNodes} errors=${world.errorCount} ` +
        `wall=${((t - wall0) / 1000).toFixed(0)}s`,
    );
  };
  /** Runs to `untilMs`, checking the invariants every `checkEveryMs`; `done` may stop it. */
  const runChecked = (untilMs: number, done: () => boolean = () => false) => {
    world.runUntil(untilMs, () => {
      tick();
      checker.check();
      return done();
    }, opts.checkEveryMs);
  };

  try {
    // Join, claims held back: node 0 founds, node k starts at k × joinIntervalMs.
    world.spawn([]);
    for (let k = 1; k < opts.nodes; k++) {
      world.clock.setTimer(k * opts.joinIntervalMs, () => {
        const boot = world.randomLive();
        world.spawn(boot ? [boot.endpoint] : []);
      });
    }
    world.runUntil((opts.nodes - 1) * opts.joinIntervalMs, tick);
    endPhase("converge");
    const convergeDeadline = world.clock.now() + opts.maxConvergeMs;
    let convergedAt: number | null = null;
    for (;;) {
      if (world.consistency().fraction === 1) {
        convergedAt = world.clock.now();
        break;
      }
      if (world.clock.now() >= convergeDeadline) break;
      world.runUntil(world.clock.now() + opts.checkEveryMs, tick);
    }
    endPhase("claim");

    // Every node claims at the same moment (within one `joinPollMs` of the gate).
    const gateMs = world.clock.now();
    gateOpen = true;
    const allBound = () => boundCount() === world.live.length;
    runChecked(gateMs + opts.claimWaitMs, allBound);
    const claimed = checker.peek();
    const initial = world.live.map((h) => nodes.get(h.address)!.lease);
    const claimTimes = initial.filter((c) => c.boundAt >= 0).map((c) => c.boundAt - gateMs);
    const claimStats = timeStats(claimTimes);
    endPhase("churn");

    let driver: ChurnDriver | null = null;
    let churnDht: number | null = null;
    let churnDatagrams: number | null = null;
    if (opts.churn > 0 && opts.durationMs > 0) {
      driver = new ChurnDriver(world, {
        ratePerMinute: opts.churn,
        baseNodes: opts.nodes,
        bootstrapMinAgeMs: opts.settleMs,
        crashFraction: opts.crashFraction,
      });
      const traffic0 = world.traffic();
      const dht0 = dhtSent;
      driver.start();
      runChecked(world.clock.now() + opts.durationMs);
      driver.stop();
      const traffic1 = world.traffic();
      const nodeSeconds = traffic1.nodeSeconds - traffic0.nodeSeconds;
      churnDht = round((dhtSent - dht0) / nodeSeconds, 3);
      churnDatagrams = round((traffic1.datagrams - traffic0.datagrams) / nodeSeconds, 2);
    }
    endPhase("quiet");
    runChecked(world.clock.now() + opts.quietMs);
    const final = checker.peek();
    endPhase("done");

    const joinedLater = world.hosts.filter((h) => h.index >= opts.nodes);
    const joinTimes: number[] = [];
    const startTimes: number[] = [];
    const claimOnlyTimes: number[] = [];
    let unbound = 0;
    for (const h of joinedLater) {
      const c = nodes.get(h.address)!.lease;
      if (c.claimStartedAt >= 0) startTimes.push(c.claimStartedAt - h.startedAtMs);
      const boundAt = checker.firstBoundAt(h) ?? c.boundAt; // the first bind, not a re-bind
      if (boundAt >= 0) {
        joinTimes.push(boundAt - h.startedAtMs);
        claimOnlyTimes.push(boundAt - c.claimStartedAt);
      } else if (h.endedAtMs === null) unbound++;
    }
    const total = world.traffic();
    const tot = checker.totals;
    return {
      nodes: opts.nodes,
      seed: opts.seed,
      subnet: formatSubnet(opts.subnet),
      churn: driver ? opts.churn : 0,
      converge_s: convergedAt === null ? null : convergedAt / 1000,
      gate_s: gateMs / 1000,
      claim_bound: claimed.bound,
      claim_live: claimed.live,
      claim_distinct: claimed.distinct,
      claim_duplicates: claimed.duplicates,
      claim_collisions: initial.reduce((s, c) => s + c.collisions, 0),
      claim_time: claimStats,
      all_bound_s: claimed.bound === claimed.live && claimStats.max_ms !== null
        ? round(claimStats.max_ms / 1000, 3)
        : null,
      churn_duration_s: driver ? opts.durationMs / 1000 : null,
      churn_left: driver?.counts.left ?? null,
      churn_crashed: driver?.counts.crashed ?? null,
      churn_joined: driver?.counts.joined ?? null,
      checks: tot.checks,
      duplicate_seconds: tot.duplicateChecks,
      max_duplicates: tot.maxDuplicates,
      duplicated_ips: tot.duplicatedIps,
      lost_nodes: tot.lostNodes,
      changed_nodes: tot.changedNodes,
      join_to_lease: timeStats(joinTimes),
      join_to_claim: timeStats(startTimes),
      churn_claim_time: timeStats(claimOnlyTimes),
      churn_joined_unbound: driver ? unbound : null,
      final_live: final.live,
      final_bound: final.bound,
      final_distinct: final.distinct,
      final_duplicates: final.duplicates,
      dht_msgs_per_node_s: round(dhtSent / total.nodeSeconds, 3),
      datagrams_per_node_s: round(total.datagrams / total.nodeSeconds, 2),
      churn_dht_msgs_per_node_s: churnDht,
      churn_datagrams_per_node_s: churnDatagrams,
      incidents: [...tot.incidents],
      virtual_s: round(world.clock.now() / 1000, 1),
      errors: world.errorCount,
      first_errors: world.errors.map((e) => `${(e.atMs / 1000).toFixed(3)}s ${e.message}`),
      wall_phases_s: wall,
      wall_s: round((performance.now() - wall0) / 1000, 2),
    };
  } finally {
    world.close();
  }
}

function timeStats(ms: readonly number[]): TimeStats {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length === 0 ? null : round(percentile(sorted, p), 1));
  return {
    count: sorted.length,
    p50_ms: at(50),
    p99_ms: at(99),
    max_ms: sorted.length === 0 ? null : round(sorted[sorted.length - 1]!, 1),
  };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
