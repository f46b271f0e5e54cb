/**
 * The overlay simulator with NAT mixes (bench/sim/nat_mix.ts): 40 real overlay nodes, 20%
 * public, 50% behind cone-like NATs, 30% behind symmetric NATs, in virtual time. `SEED=n`
 * replays a run; the seed and the report are printed on failure.
 */
import assert from "node:assert/strict";
import { loadFastAead } from "../../ffi/fast_aead.ts";
import { loadFastX25519 } from "../../ffi/sodium_x25519.ts";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import { endpoint } from "../../lib/transport/endpoint.ts";
import { NatPlan, parseNatMix } from "../../bench/sim/nat_mix.ts";
import { overlayNodeFactory } from "../../bench/sim/overlay_factory.ts";
import { formatTable, type SimResult } from "../../bench/sim/report.ts";
import { DEFAULT_SIM_OPTIONS, runSimulation, type SimOptions } from "../../bench/sim/run_sim.ts";
import { hostIp } from "../../bench/sim/world.ts";

const SEED = Number(Deno.env.get("SEED") ?? 1);

function natRun(cone: string, extra: Partial<SimOptions> = {}): SimResult {
  return runSimulation({
    ...DEFAULT_SIM_OPTIONS,
    nodes: 40,
    seed: SEED,
    joinIntervalMs: 50,
    bootstrap: "first",
    probes: 500,
    nearestProbes: 0,
    idleMs: 0,
    maxConvergeMs: 60_000,
    factory: overlayNodeFactory(),
    aead: loadFastAead(),
    x25519: loadFastX25519(),
    natMix: parseNatMix("0.2,0.5,0.3", cone),
    ...extra,
  });
}

/** Runs `check`, printing the seed and the report when it throws. */
function explain(r: SimResult, check: () => void): void {
  try {
    check();
  } catch (e) {
    console.error(`SEED=${SEED}\n${formatTable(r)}`);
    throw e;
  }
}

Deno.test("nat mix: parsing rejects bad fractions and unknown cone types", () => {
  assert.deepEqual(parseNatMix("0.2,0.5,0.3", "port-restricted"), {
    public: 0.2,
    cone: 0.5,
    symmetric: 0.3,
    coneType: "port-restricted",
  });
  assert.throws(() => parseNatMix("0.2,0.5"), RangeError);
  assert.throws(() => parseNatMix("0.2,0.5,0.4"), RangeError);
  assert.throws(() => parseNatMix("0.2,x,0.8"), RangeError);
  assert.throws(() => parseNatMix("0.2,0.5,0.3", "symmetric"), RangeError);
});

Deno.test("nat mix: exact counts per type, host 0 public, same seed same placement", () => {
  const place = (seed: number) => {
    const plan = new NatPlan({ clock: new VirtualClock() }, parseNatMix("0,0.5,0.5"), 10, seed);
    return Array.from({ length: 10 }, (_, i) => plan.place(i, endpoint(hostIp(i), 5800)));
  };
  const a = place(SEED);
  assert.equal(a[0], "public");
  const count = (t: string) => a.filter((p) => p === t).length;
  // Host 0 takes its public place from the larger group (a tie goes to the cones).
  assert.equal(count("symmetric"), 5);
  assert.equal(count("full-cone") + count("address-restricted") + count("port-restricted"), 4);
  assert.deepEqual(place(SEED), a);
});

Deno.test("nat sim: 40 nodes, 30% symmetric, mixed cones: ring 100% and 500 of 500 probes arrive", () => {
  const r = natRun("mixed");
  explain(r, () => {
    assert.equal(r.converged, true);
    assert.equal(r.ring_consistency, 1);
    assert.equal(r.probes.sent, 500);
    assert.equal(r.probes.delivered, 500);
    assert.equal(r.routing_success, 1);
    assert.equal(r.errors, 0);
    const nat = r.nat!;
    assert.equal(nat.hosts_by_type["symmetric"], 12);
    assert.equal(nat.hosts_by_type["public"], 8);
    assert.ok(nat.fabric.translated > 0, "datagrams crossed the NATs");
    for (const links of [nat.successor_links, nat.predecessor_links]) {
      for (const [pair, t] of Object.entries(links)) {
        assert.equal(t.missing, 0, `${pair}: every node reaches its ring neighbours`);
      }
    }
  });
});

Deno.test("nat sim: 40 nodes, port-restricted cones: every pair that can punch links directly", () => {
  const r = natRun("port-restricted", { probes: 0, maxConvergeMs: 30_000 });
  explain(r, () => {
    const links = r.nat!.successor_links;
    for (const [pair, t] of [links, r.nat!.predecessor_links].flatMap(Object.entries)) {
      if (pair.includes("symmetric")) continue;
      // Public and port-restricted hosts punch to each other: direct, never relayed.
      assert.deepEqual({ relay: t.relay, missing: t.missing }, { relay: 0, missing: 0 }, pair);
      assert.ok(t.direct > 0, pair);
    }
    // A symmetric host next to a public one always reaches it (direct, or relayed meanwhile).
    assert.equal(links["public<->symmetric"]?.missing ?? 0, 0);
    const sym = links["port-restricted<->symmetric"];
    assert.ok(sym && sym.direct === 0 && sym.relay > 0, "symmetric<->port-restricted is relayed");
  });
});

// The hard mix: port-restricted cones punch only to public hosts and each other, so symmetric
// hosts are relayed to most of their neighbours. Seeds 1-15 pass (before relayed neighbours
// were gossiped, relayed messages that came back were re-routed and full relay tables made
// room, seeds 1-7 gave a ring 92.5-100% consistent and lost 6-21 of 500 probes).
Deno.test("nat sim: 40 nodes, port-restricted cones: ring 100% and 500 of 500 probes arrive", () => {
  const r = natRun("port-restricted");
  explain(r, () => {
    assert.equal(r.ring_consistency, 1);
    assert.equal(r.probes.delivered, 500);
    assert.equal(r.errors, 0);
  });
});

Deno.test("nat sim: 40 nodes, mixed cones, 10%/min churn: routing stays up and the ring heals", () => {
  const r = natRun("mixed", { churn: 0.1, durationMs: 120_000 });
  explain(r, () => {
    assert.equal(r.errors, 0, "node code threw");
    assert.equal(r.ring_consistency, 1, "ring consistency before churn");
    assert.ok(r.churn_joined! >= 6, `churn events: ${r.churn_joined}`);
    assert.ok(r.churn_routing_success! >= 0.99, `routing during churn ${r.churn_routing_success}`);
    assert.notEqual(r.recovery_s, null, "ring consistent again after churn");
    assert.ok(r.recovery_s! <= 30, `recovery ${r.recovery_s} s`);
    assert.equal(r.post_churn_routing_success, 1, "routing after churn");
  });
});
