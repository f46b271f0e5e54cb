/**
 * Small, fast simulations of the real overlay (64 nodes, virtual time) with the full simulator
 * harness of bench/sim. `SEED=n` replays a run; the seed is printed on failure.
 */
import assert from "node:assert/strict";
import { loadFastAead } from "../../ffi/fast_aead.ts";
import { loadFastX25519 } from "../../ffi/sodium_x25519.ts";
import { idealNodeFactory } from "../../bench/sim/ideal_node.ts";
import { overlayNodeFactory } from "../../bench/sim/overlay_factory.ts";
import { formatTable, type SimResult } from "../../bench/sim/report.ts";
import { DEFAULT_SIM_OPTIONS, runSimulation, type SimOptions } from "../../bench/sim/run_sim.ts";
import type { SimNodeFactory } from "../../bench/sim/sim_node.ts";

const SEED = Number(Deno.env.get("SEED") ?? 1);

function small(factory: SimNodeFactory, extra: Partial<SimOptions> = {}): SimResult {
  return runSimulation({
    ...DEFAULT_SIM_OPTIONS,
    nodes: 64,
    seed: SEED,
    probes: 1_000,
    nearestProbes: 200,
    idleMs: 0,
    maxConvergeMs: 60_000,
    factory,
    aead: loadFastAead(),
    x25519: loadFastX25519(),
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

Deno.test("sim harness: the ideal stand-in gives 100% on every measure, deterministically", () => {
  const opts = { churn: 0.2, durationMs: 60_000, churnProbesPerMinute: 300 };
  const a = small(idealNodeFactory(), opts);
  const b = small(idealNodeFactory(), opts);
  explain(a, () => {
    assert.equal(a.ring_consistency, 1);
    assert.equal(a.routing_success, 1);
    assert.equal(a.nearest_success, 1);
    assert.equal(a.probes.delivered, 1_000);
    assert.equal(a.hops_p99, 1);
    assert.equal(a.churn_left! + a.churn_crashed!, a.churn_joined);
    assert.ok(a.churn_joined! >= 12, `churn events: ${a.churn_joined}`);
    assert.equal(a.churn_routing_success, 1);
    assert.equal(a.recovery_s, 0);
    assert.equal(a.errors, 0);
  });
  const strip = (r: SimResult) => ({ ...r, wall_s: 0, wall_phases_s: {} });
  assert.deepEqual(strip(a), strip(b));
});

Deno.test("overlay of 64 nodes converges to a consistent ring and routes every probe", () => {
  const r = small(overlayNodeFactory());
  explain(r, () => {
    assert.equal(r.errors, 0, "node code threw");
    assert.equal(r.ring_consistency, 1, "ring consistency after convergence");
    assert.equal(r.routing_success, 1, "exact routing success");
    assert.equal(r.nearest_success, 1, "nearest routing success");
    assert.equal(r.probes.duplicates, 0, "no duplicate deliveries");
    assert.ok(r.hops_mean <= Math.log2(64) / 2 + 1, `hops mean ${r.hops_mean}`);
  });
});

Deno.test("overlay of 64 nodes under 10%/min churn keeps routing and heals its ring", () => {
  const r = small(overlayNodeFactory(), { churn: 0.1, durationMs: 120_000 });
  explain(r, () => {
    assert.equal(r.errors, 0, "node code threw");
    assert.equal(r.ring_consistency, 1, "ring consistency before churn");
    assert.ok(r.churn_routing_success! >= 0.99, `routing during churn ${r.churn_routing_success}`);
    assert.notEqual(r.recovery_s, null, "ring consistent again after churn");
    assert.ok(r.recovery_s! <= 30, `recovery ${r.recovery_s} s`);
    assert.equal(r.post_churn_routing_success, 1, "routing after churn");
  });
});
