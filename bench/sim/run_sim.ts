/**
 * One simulation run: join N nodes, wait for a consistent ring, measure idle traffic, probe
 * routing, optionally churn (with probes) and measure the recovery. A pure function of its
 * options (same seed, same figures), apart from the wall times it reports.
 *
 * @module
 */
import type { Aead } from "../../lib/crypto/aead.ts";
import type { X25519 } from "../../lib/crypto/x25519.ts";
import type { Logger } from "../../lib/log.ts";
import { randomAddress } from "../../lib/overlay/address.ts";
import { ChurnDriver } from "./churn.ts";
import { bruteNearest, hopStats, sortAddresses } from "./metrics.ts";
import { annotateSample, type NatMix, NatPlan, natReport } from "./nat_mix.ts";
import { type ProbeTally, ProbeTracker } from "./probes.ts";
import type { SimResult } from "./report.ts";
import type { SimNodeFactory } from "./sim_node.ts";
import { type SimHost, SimWorld } from "./world.ts";

/** Options of `runSimulation` (see `DEFAULT_SIM_OPTIONS` for the tunables). */
export interface SimOptions {
  nodes: number;
  seed: number;
  /** Fraction of the nodes replaced per simulated minute (0: no churn phase). */
  churn: number;
  /** Fraction of churn exits that are crashes (the rest leave cleanly). */
  crashFraction: number;
  /** Length of the churn phase, virtual ms. */
  durationMs: number;
  /** Virtual ms between two node starts during the join. */
  joinIntervalMs: number;
  /** Joining nodes bootstrap from node 0 ("first") or a random started node ("random"). */
  bootstrap: "first" | "random";
  latencyMs: number;
  jitterMs: number;
  lossRate: number;
  /** Exact-mode probes between random live pairs after convergence. */
  probes: number;
  /** Nearest-mode probes to random keys after convergence. */
  nearestProbes: number;
  /** Virtual ms between two probes of the routing test. */
  probeIntervalMs: number;
  /** A probe not delivered this long after it was sent is lost, virtual ms. */
  probeTimeoutMs: number;
  /** Exact-mode probes per simulated minute during churn. */
  churnProbesPerMinute: number;
  /** Ring consistency is checked this often while waiting for it, virtual ms. */
  checkEveryMs: number;
  /** Give up waiting for a consistent ring after this long, virtual ms. */
  maxConvergeMs: number;
  /** Quiet window after convergence to measure maintenance traffic, virtual ms (0: skip). */
  idleMs: number;
  /** During churn, probe ends and bootstrap nodes must have been up this long, virtual ms. */
  settleMs: number;
  factory: SimNodeFactory;
  aead: Aead;
  /** X25519 for identities and handshakes (default node:crypto's). */
  x25519?: X25519;
  logger?: Logger;
  /** Receives a progress line about once per wall second. */
  progress?: (line: string) => void;
  /**
   * Puts hosts behind NATs in this mix (absent: every host public). Joiners then bootstrap
   * from public hosts only ("first": host 0, "random": a random live public host).
   */
  natMix?: NatMix;
}

/** Defaults for everything but the node factory and the AEAD. */
export const DEFAULT_SIM_OPTIONS: Omit<SimOptions, "factory" | "aead" | "x25519"> = {
  nodes: 100,
  seed: 1,
  churn: 0,
  crashFraction: 0.5,
  durationMs: 600_000,
  joinIntervalMs: 10,
  bootstrap: "random",
  latencyMs: 20,
  jitterMs: 10,
  lossRate: 0,
  probes: 10_000,
  nearestProbes: 1_000,
  probeIntervalMs: 0.1,
  probeTimeoutMs: 10_000,
  churnProbesPerMinute: 500,
  checkEveryMs: 1_000,
  maxConvergeMs: 300_000,
  idleMs: 10_000,
  settleMs: 10_000,
};

/** Runs one simulation (synchronously: virtual time only) and returns its figures. */
export function runSimulation(opts: SimOptions): SimResult {
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
  const world = new SimWorld({
    seed: opts.seed,
    factory: opts.factory,
    aead: opts.aead,
    x25519: opts.x25519,
    latencyMs: opts.latencyMs,
    jitterMs: opts.jitterMs,
    lossRate: opts.lossRate,
    logger: opts.logger,
    onSpawn: opts.natMix ? (i, ep) => nat?.place(i, ep) : undefined,
  });
  const nat = opts.natMix ? new NatPlan(world, opts.natMix, opts.nodes, opts.seed) : undefined;
  nat?.install(world);
  const annotate = (lines: string[]) => nat ? annotateSample(lines, nat) : lines;
  const tracker = new ProbeTracker(world);
  let lastConsistency = NaN;
  let lastPrint = performance.now();
  const tick = () => {
    const t = performance.now();
    if (!opts.progress || t - lastPrint < 1000) return;
    lastPrint = t;
    opts.progress(
      `sim ${phase} t=${(world.clock.now() / 1000).toFixed(1)}s ` +
        `live=${world.live.length} started=${world.hosts.length}/${opts.nodes} ` +
        `datagrams=${world.network.stats.submitted} inflight=${world.network.inFlight} ` +
        `consistency=${
          Number.isNaN(lastConsistency) ? "-" : `${(lastConsistency * 100).toFixed(2)}%`
        } errors=${world.errorCount} ` +
        `wall=${((t - wall0) / 1000).toFixed(0)}s`,
    );
  };
  const waitConsistent = (): { atMs: number | null; fraction: number } => {
    const deadline = world.clock.now() + opts.maxConvergeMs;
    for (;;) {
      lastConsistency = world.consistency().fraction;
      // The fast path (upAddresses) must agree with status() before we call it converged.
      if (lastConsistency === 1) lastConsistency = world.consistency(true).fraction;
      if (lastConsistency === 1) return { atMs: world.clock.now(), fraction: 1 };
      if (world.clock.now() >= deadline) return { atMs: null, fraction: lastConsistency };
      world.runUntil(world.clock.now() + opts.checkEveryMs, tick);
    }
  };

  try {
    // Join: node 0 founds, the others start one every joinIntervalMs (their ring positions are
    // random, being hashes of fresh keys, so the join order is random along the ring).
    world.spawn([]);
    for (let k = 1; k < opts.nodes; k++) {
      world.clock.setTimer(k * opts.joinIntervalMs, () => {
        const first = world.hosts[0]!;
        const boot = opts.bootstrap === "first" && first.endedAtMs === null
          ? first
          : nat
          ? randomPublic(world, nat)
          : world.randomLive();
        world.spawn(boot ? [boot.endpoint] : []);
      });
    }
    const joinEndMs = (opts.nodes - 1) * opts.joinIntervalMs;
    world.runUntil(joinEndMs, tick);
    endPhase("converge");
    const converged = waitConsistent();
    const tables = world.connectionSummary();
    const stuck = converged.atMs === null ? annotate(world.describeInconsistent()) : [];
    endPhase("idle");

    const idle0 = world.traffic();
    if (opts.idleMs > 0) world.runUntil(world.clock.now() + opts.idleMs, tick);
    const idle1 = world.traffic();
    endPhase("routing");

    const routing = routingTest(world, tracker, opts, opts.probes, opts.nearestProbes, tick);
    endPhase("churn");

    let churnResult: ChurnResult | null = null;
    if (opts.churn > 0 && opts.durationMs > 0) {
      const canBootstrap = nat ? (h: SimHost) => nat.isPublic(h.index) : undefined;
      churnResult = churnPhase(world, tracker, opts, tick, canBootstrap, () => {
        endPhase("recovery");
        return waitConsistent();
      });
      endPhase("post-churn routing");
      churnResult.post = routingTest(world, tracker, opts, Math.ceil(opts.probes / 10), 0, tick)
        .exact.success;
    }
    endPhase("done");
    const total = world.traffic();
    const staticHops = hopStats(routing.exact.hops);
    const final = world.consistency(true).fraction;
    const finalStuck = final < 1 ? annotate(world.describeInconsistent()) : [];
    return {
      nodes: opts.nodes,
      seed: opts.seed,
      churn: opts.churn,
      join_s: joinEndMs / 1000,
      converge_s: converged.atMs === null ? null : converged.atMs / 1000,
      converged: converged.atMs !== null,
      ring_consistency: converged.fraction,
      routing_success: routing.exact.success,
      nearest_success: routing.nearest.success,
      hops_mean: round(staticHops.mean, 3),
      hops_p50: staticHops.p50,
      hops_p99: staticHops.p99,
      hops_max: staticHops.max,
      probe_latency_ms: round(routing.exact.latencyMeanMs, 1),
      probes: probeCounts(routing.exact),
      connections_mean: tables.connectionsMean,
      connections_max: tables.connectionsMax,
      connections_by_kind: tables.byKind,
      estimated_size_mean: tables.estimatedSizeMean,
      msgs_per_node_s: round(total.datagrams / total.nodeSeconds, 2),
      bytes_per_node_s: round(total.bytes / total.nodeSeconds, 1),
      idle_msgs_per_node_s: rate(idle1.datagrams - idle0.datagrams, idle1, idle0),
      idle_bytes_per_node_s: rate(idle1.bytes - idle0.bytes, idle1, idle0),
      datagrams_by_type_per_node_s: perNodeSecond(world.sentByType.snapshot(), total.nodeSeconds),
      churn_duration_s: churnResult ? opts.durationMs / 1000 : null,
      churn_routing_success: churnResult?.success ?? null,
      churn_routing_worst_minute: churnResult?.worstMinute ?? null,
      churn_probes: churnResult ? probeCounts(churnResult.tally) : null,
      churn_left: churnResult?.counts.left ?? null,
      churn_crashed: churnResult?.counts.crashed ?? null,
      churn_joined: churnResult?.counts.joined ?? null,
      recovery_s: churnResult?.recoveryS ?? null,
      post_churn_routing_success: churnResult?.post ?? null,
      final_ring_consistency: final,
      inconsistent_sample: stuck,
      final_inconsistent_sample: finalStuck,
      virtual_s: round(world.clock.now() / 1000, 1),
      datagrams: world.network.stats.submitted,
      errors: world.errorCount,
      first_errors: world.errors.map((e) => `${(e.atMs / 1000).toFixed(3)}s ${e.message}`),
      wall_phases_s: wall,
      wall_s: round((performance.now() - wall0) / 1000, 2),
      ...(nat ? { nat: natReport(world, nat) } : {}),
    };
  } finally {
    world.close();
  }
}

/** A uniformly random live public host (harness randomness), if any. */
function randomPublic(world: SimWorld, nat: NatPlan): SimHost | undefined {
  const pub = world.live.filter((h) => nat.isPublic(h.index));
  return pub.length === 0 ? undefined : pub[world.rng.int(pub.length)];
}

interface RoutingOutcome {
  exact: ProbeTally;
  nearest: ProbeTally;
}

/** Sends `exact` + `nearest` probes (one every probeIntervalMs) and waits for them all. */
function routingTest(
  world: SimWorld,
  tracker: ProbeTracker,
  opts: SimOptions,
  exact: number,
  nearest: number,
  tick: () => void,
): RoutingOutcome {
  const sorted = sortAddresses(world.live.map((h) => h.address));
  const total = exact + nearest;
  const t0 = world.clock.now();
  for (let i = 0; i < total; i++) {
    world.clock.setTimer(i * opts.probeIntervalMs, () => {
      const src = world.randomLive();
      if (!src || world.live.length < 2) return;
      if (i < exact) {
        tracker.sendExact("exact", src, world.randomLive((h) => h !== src)!);
      } else {
        const key = randomAddress(world.rng);
        const target = world.liveByAddress(bruteNearest(sorted, key));
        if (target) tracker.sendNearest("nearest", src, key, target);
      }
    });
  }
  const lastSend = t0 + Math.max(0, total - 1) * opts.probeIntervalMs;
  world.runUntil(lastSend + opts.probeTimeoutMs, () => {
    tick();
    return world.clock.now() > lastSend &&
      tracker.pending("exact") === 0 && tracker.pending("nearest") === 0;
  });
  return {
    exact: tracker.tally("exact", opts.probeTimeoutMs),
    nearest: tracker.tally("nearest", opts.probeTimeoutMs),
  };
}

interface ChurnResult {
  tally: ProbeTally;
  success: number;
  worstMinute: number;
  counts: { left: number; crashed: number; joined: number };
  recoveryS: number | null;
  post: number | null;
}

/** Churn for durationMs with probes, then `recover()` (which waits for a consistent ring). */
function churnPhase(
  world: SimWorld,
  tracker: ProbeTracker,
  opts: SimOptions,
  tick: () => void,
  canBootstrap: ((h: SimHost) => boolean) | undefined,
  recover: () => { atMs: number | null },
): ChurnResult {
  const t0 = world.clock.now();
  const driver = new ChurnDriver(world, {
    ratePerMinute: opts.churn,
    baseNodes: opts.nodes,
    bootstrapMinAgeMs: opts.settleMs,
    crashFraction: opts.crashFraction,
    canBootstrap,
  });
  driver.start();
  const minutes = Math.ceil(opts.durationMs / 60_000);
  const interval = 60_000 / Math.max(1, opts.churnProbesPerMinute);
  const count = Math.floor(opts.durationMs / interval);
  const settled = (h: SimHost) => world.clock.now() - h.startedAtMs >= opts.settleMs;
  for (let i = 0; i < count; i++) {
    world.clock.setTimer(i * interval, () => {
      const src = world.randomLive(settled);
      const dst = world.randomLive((h) => h !== src && settled(h));
      if (src && dst && src !== dst) {
        tracker.sendExact(`churn-${Math.floor(i * interval / 60_000)}`, src, dst);
      }
    });
  }
  world.runUntil(t0 + opts.durationMs, tick);
  driver.stop();
  const stoppedAt = world.clock.now();
  const rec = recover();
  // Let the last probes reach their deadline before counting them.
  world.runUntil(Math.max(world.clock.now(), stoppedAt + opts.probeTimeoutMs), tick);
  const tallies: ProbeTally[] = [];
  for (let m = 0; m < minutes; m++) tallies.push(tracker.tally(`churn-${m}`, opts.probeTimeoutMs));
  const tally = mergeTallies(tallies);
  return {
    tally,
    success: tally.success,
    worstMinute: Math.min(...tallies.map((t) => t.success)),
    counts: { ...driver.counts },
    recoveryS: rec.atMs === null ? null : round((rec.atMs - stoppedAt) / 1000, 1),
    post: null,
  };
}

function mergeTallies(ts: ProbeTally[]): ProbeTally {
  const sum = (f: (t: ProbeTally) => number) => ts.reduce((s, t) => s + f(t), 0);
  const sent = sum((t) => t.sent), excluded = sum((t) => t.excluded);
  const delivered = sum((t) => t.delivered);
  return {
    sent,
    delivered,
    misdelivered: sum((t) => t.misdelivered),
    unreachable: sum((t) => t.unreachable),
    lost: sum((t) => t.lost),
    excluded,
    duplicates: sum((t) => t.duplicates),
    success: sent - excluded === 0 ? 1 : delivered / (sent - excluded),
    hops: ts.flatMap((t) => t.hops),
    latencyMeanMs: sum((t) => (t.delivered ? t.latencyMeanMs * t.delivered : 0)) / delivered,
  };
}

function probeCounts(t: ProbeTally): Record<string, number> {
  const { sent, delivered, misdelivered, unreachable, lost, excluded, duplicates } = t;
  return { sent, delivered, misdelivered, unreachable, lost, excluded, duplicates };
}

function perNodeSecond(counts: Record<string, number>, nodeSeconds: number) {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) out[k] = round(v / nodeSeconds, 3);
  return out;
}

function rate(delta: number, a: { nodeSeconds: number }, b: { nodeSeconds: number }): number {
  const s = a.nodeSeconds - b.nodeSeconds;
  return s > 0 ? round(delta / s, 2) : NaN;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
