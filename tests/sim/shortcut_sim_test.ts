/**
 * On-demand shortcuts in the simulator: real `OverlayNode`s on a `SimWorld` (fake network,
 * virtual time, deterministic). Traffic reported to a node's `shortcuts.noteRouted` at the
 * threshold rate makes the node and the destination link directly (kind "shortcut" on both
 * sides, one hop); traffic below the rate asks for nothing; an idle shortcut is released; a node
 * asks for at most `maxShortcuts`. `SEED=n` replays a run; the seed is printed on failure.
 */
import assert from "node:assert/strict";
import { overlayNodeFactory } from "../../bench/sim/overlay_factory.ts";
import { sortAddresses } from "../../bench/sim/metrics.ts";
import type { SimHost, SimWorld } from "../../bench/sim/world.ts";
import { overlayWorld } from "../helpers/sim_world.ts";
import { addressToHex, type OverlayAddress } from "../../lib/overlay/address.ts";
import { OverlayNode } from "../../lib/overlay/overlay_node.ts";
import { DEFAULT_SHORTCUT_TUNING } from "../../lib/overlay/shortcuts.ts";
import type { OverlayTuning } from "../../lib/overlay/tuning.ts";

const SEED = Number(Deno.env.get("SEED") ?? 1);
const NODES = 40;
/** Virtual ms between two node starts. */
const JOIN_INTERVAL_MS = 50;
/** Bound for the ring to converge after the last start, virtual ms. */
const CONVERGE_TIMEOUT_MS = 120_000;
/** The bound for a shortcut to form, virtual ms from the first counted packet. */
const FORM_BOUND_MS = 2_000;

/** A converged world of `NODES` real overlay nodes with the given tuning overrides. */
function convergedWorld(tuning: Partial<OverlayTuning>): SimWorld {
  const world = overlayWorld({
    seed: SEED,
    latencyMs: 10,
    jitterMs: 4,
    factory: overlayNodeFactory(tuning),
  });
  try {
    const first = world.spawn([]);
    for (let i = 1; i < NODES; i++) {
      world.runUntil(world.clock.now() + JOIN_INTERVAL_MS);
      world.spawn([first.endpoint]);
    }
    const deadline = world.clock.now() + CONVERGE_TIMEOUT_MS;
    while (world.consistency().fraction < 1 && world.clock.now() < deadline) {
      world.runUntil(world.clock.now() + 1_000);
    }
    assert.equal(world.consistency().fraction, 1, `SEED=${SEED}: the ring did not converge`);
    // A little longer, so that far connections settle too.
    world.runUntil(world.clock.now() + 10_000);
    assert.equal(world.errorCount, 0, `SEED=${SEED}: node code threw: ${world.errors[0]?.message}`);
    return world;
  } catch (e) {
    world.close();
    throw e;
  }
}

/** The production node of a host. */
function nodeOf(h: SimHost): OverlayNode {
  assert.ok(h.node instanceof OverlayNode, "the world runs real overlay nodes");
  return h.node;
}

/** True when either of two hosts has an up connection to the other. */
function linked(a: SimHost, b: SimHost): boolean {
  return nodeOf(a).upByAddress.has(b.address) || nodeOf(b).upByAddress.has(a.address);
}

/** The kind `h`'s status gives its connection to `peer`, or undefined when there is none. */
function kindIn(h: SimHost, peer: OverlayAddress): string | undefined {
  const hex = addressToHex(peer);
  return nodeOf(h).status().connections.find((c) => c.address === hex)?.kind;
}

/** Shortcut connections in `h`'s status. */
function shortcutCount(h: SimHost): number {
  return nodeOf(h).status().connections.filter((c) => c.kind === "shortcut").length;
}

/**
 * Pairs of live hosts that are not linked and lie at least a quarter of the ring apart (in
 * ring positions, both ways), so that neither can become the other's near neighbour.
 */
function farPairs(world: SimWorld): [SimHost, SimHost][] {
  const sorted = sortAddresses(world.live.map((h) => h.address));
  const rank = new Map(sorted.map((a, i) => [a, i]));
  const n = sorted.length;
  const out: [SimHost, SimHost][] = [];
  for (const a of world.live) {
    for (const b of world.live) {
      const d = (rank.get(b.address)! - rank.get(a.address)! + n) % n;
      if (d >= n / 4 && d <= (3 * n) / 4 && !linked(a, b)) out.push([a, b]);
    }
  }
  return out;
}

/** Runs the world's clock `ms` further. */
function advance(world: SimWorld, ms: number): void {
  world.runUntil(world.clock.now() + ms);
}

/** Sends an exact message from `a` to `b` and returns the hop count of its delivery. */
function hopsOf(world: SimWorld, a: SimHost, b: SimHost): number | undefined {
  const tag = world.rng.fill(new Uint8Array(8));
  let hops: number | undefined;
  world.onDeliver = (h, m) => {
    if (h === b && m.src === a.address && m.payload.toHex() === tag.toHex()) hops = m.hops;
  };
  nodeOf(a).send(b.address, "exact", tag);
  advance(world, 1_000);
  world.onDeliver = () => {};
  return hops;
}

/** Reports to `a` more packets for `b` at once than its threshold rate allows in a second. */
function burst(a: SimHost, b: SimHost): void {
  const n = Math.ceil(DEFAULT_SHORTCUT_TUNING.thresholdPps) + 1;
  for (let i = 0; i < n; i++) nodeOf(a).shortcuts.noteRouted(b.address);
}

/** Runs `check` on a fresh converged world, closing it after; prints the seed on failure. */
function withWorld(tuning: Partial<OverlayTuning>, check: (world: SimWorld) => void): void {
  const world = convergedWorld(tuning);
  try {
    check(world);
    assert.equal(world.errorCount, 0, `node code threw: ${world.errors[0]?.message}`);
  } catch (e) {
    console.error(`SEED=${SEED}`);
    throw e;
  } finally {
    world.close();
  }
}

Deno.test("sim shortcuts: traffic at the threshold rate links the pair directly within 2 s, kind shortcut on both sides, one hop", () => {
  withWorld({}, (world) => {
    const [a, b] = farPairs(world)[0] ?? assert.fail("no pair of unlinked far-apart nodes");
    const before = hopsOf(world, a, b);
    assert.ok(before !== undefined && before >= 2, `hops before the shortcut: ${before}`);

    const t0 = world.clock.now();
    const interval = 1_000 / DEFAULT_SHORTCUT_TUNING.thresholdPps;
    let formedAt: number | null = null;
    while (world.clock.now() - t0 < FORM_BOUND_MS + 1_000 && formedAt === null) {
      nodeOf(a).shortcuts.noteRouted(b.address);
      for (let i = 0; i < 10 && formedAt === null; i++) {
        advance(world, interval / 10);
        const both = nodeOf(a).upByAddress.has(b.address) && nodeOf(b).upByAddress.has(a.address);
        if (both) formedAt = world.clock.now();
      }
    }
    assert.ok(formedAt !== null, "no direct link after the threshold rate");
    assert.ok(formedAt - t0 <= FORM_BOUND_MS, `formed after ${formedAt - t0} ms`);
    assert.equal(nodeOf(a).shortcuts.requested, 1, "one request");
    // The answer comes over the new link, one network latency after it is up.
    advance(world, 50);
    assert.equal(kindIn(a, b.address), "shortcut", "kind at the requester");
    assert.equal(kindIn(b, a.address), "shortcut", "kind at the destination");
    assert.equal(hopsOf(world, a, b), 1, "a message over the shortcut takes one hop");
  });
});

Deno.test("sim shortcuts: one packet per window (below the threshold) asks for nothing", () => {
  withWorld({}, (world) => {
    const [a, b] = farPairs(world)[0] ?? assert.fail("no pair of unlinked far-apart nodes");
    for (let s = 0; s < 20; s++) {
      nodeOf(a).shortcuts.noteRouted(b.address);
      advance(world, 1_000);
    }
    assert.equal(nodeOf(a).shortcuts.requested, 0, "shortcut requests");
    assert.equal(linked(a, b), false, "the pair linked anyway");
    assert.equal(shortcutCount(a), 0);
  });
});

/** Makes `a` ask for a shortcut to `b` (a burst over the threshold) and checks that it formed. */
function formShortcut(world: SimWorld, a: SimHost, b: SimHost): void {
  burst(a, b);
  advance(world, FORM_BOUND_MS);
  assert.equal(kindIn(a, b.address), "shortcut", "no shortcut formed");
}

Deno.test("sim shortcuts: one packet a second with a few ms of jitter asks for nothing", () => {
  withWorld({}, (world) => {
    const [a, b] = farPairs(world)[0] ?? assert.fail("no pair of unlinked far-apart nodes");
    // 1 pps, each interval 5 ms short of or over a second, as a ping's are after a busy hop.
    for (let s = 0; s < 20; s++) {
      nodeOf(a).shortcuts.noteRouted(b.address);
      advance(world, s % 2 === 0 ? 995 : 1_005);
    }
    assert.equal(nodeOf(a).shortcuts.requested, 0, "shortcut requests");
    assert.equal(linked(a, b), false, "the pair linked anyway");
  });
});

/**
 * Idle time of the release test. Above the keepalive interval (5 s: a keepalive is not
 * traffic) and below the gaps between other nodes' messages that greedy routing sends across
 * the shortcut (the ignored test below shows why the default minute is never reached in a ring
 * of 40).
 */
const SHORT_IDLE_MS = 8_000;

Deno.test("sim shortcuts: a shortcut is kept while it carries traffic and released once idle for idleMs", () => {
  withWorld({ shortcuts: { ...DEFAULT_SHORTCUT_TUNING, idleMs: SHORT_IDLE_MS } }, (world) => {
    const [a, b] = farPairs(world)[0] ?? assert.fail("no pair of unlinked far-apart nodes");
    formShortcut(world, a, b);

    // Traffic over it (one message every 2 s) for four times the idle time keeps it.
    for (let t = 0; t < 4 * SHORT_IDLE_MS; t += 2_000) {
      nodeOf(a).send(b.address, "exact", new Uint8Array([1]));
      advance(world, 2_000);
    }
    assert.equal(kindIn(a, b.address), "shortcut", "released while in use");

    // Then idle (keepalives only): released, not before idleMs, on both sides.
    const idleFrom = world.clock.now() - 2_000;
    let goneAt: number | null = null;
    while (goneAt === null && world.clock.now() - idleFrom < 60_000) {
      advance(world, 500);
      if (!nodeOf(a).upByAddress.has(b.address)) goneAt = world.clock.now();
    }
    assert.ok(goneAt !== null, "the idle shortcut was kept for a minute");
    console.log(`  idle shortcut released ${((goneAt - idleFrom) / 1000).toFixed(1)} s after use`);
    assert.ok(goneAt - idleFrom >= SHORT_IDLE_MS, `released after ${goneAt - idleFrom} ms`);
    advance(world, 1_000);
    assert.equal(nodeOf(b).upByAddress.has(a.address), false, "b still links to a");
    assert.equal(shortcutCount(a), 0);
    assert.equal(shortcutCount(b), 0);
  });
});

// Other nodes' messages that greedy routing sends across a shortcut (here the periodic near
// checks) must not keep it: idleness is judged from the pair's own traffic.
Deno.test({
  name: "sim shortcuts: transit traffic of other nodes does not keep an idle shortcut",
  fn() {
    withWorld({}, (world) => {
      const idleMs = DEFAULT_SHORTCUT_TUNING.idleMs;
      const [a, b] = farPairs(world)[0] ?? assert.fail("no pair of unlinked far-apart nodes");
      formShortcut(world, a, b);
      advance(world, idleMs + 5_000);
      assert.equal(nodeOf(a).upByAddress.has(b.address), false, "a still links to b");
    });
  },
});

Deno.test("sim shortcuts: a node asks for at most maxShortcuts shortcuts", () => {
  const max = 3;
  withWorld({ shortcuts: { ...DEFAULT_SHORTCUT_TUNING, maxShortcuts: max } }, (world) => {
    const pairs = farPairs(world);
    const a = pairs[0]?.[0] ?? assert.fail("no pair of unlinked far-apart nodes");
    const targets = pairs.filter(([x]) => x === a).map(([, b]) => b).slice(0, 2 * max + 2);
    assert.ok(targets.length > max, `only ${targets.length} candidate destinations`);
    const burstAll = () => targets.forEach((b) => burst(a, b));
    burstAll();
    advance(world, FORM_BOUND_MS);
    assert.equal(nodeOf(a).shortcuts.requested, max, "requests sent");
    assert.equal(shortcutCount(a), max, "shortcuts formed");
    // After the retry time, the same traffic asks for no more.
    for (let s = 0; s < 20; s++) {
      advance(world, 1_000);
      burstAll();
    }
    advance(world, FORM_BOUND_MS);
    assert.equal(nodeOf(a).shortcuts.requested, max, "requests sent in all");
    const wanted = [...nodeOf(a).conns.values()].filter((c) => c.wantShortcut).length;
    assert.equal(wanted, max, "connections a asked for as shortcuts");
    assert.ok(shortcutCount(a) <= max, `shortcuts in status: ${shortcutCount(a)}`);
  });
});

// A shortcut asked for while the destination still lingers on a link it has just closed
// (closeLingerMs) must not be set up on that closing connection (the destination would forget
// it moments later and the requester's traffic would go into a dead session).
Deno.test({
  name: "sim shortcuts: a shortcut asked for just after the destination closed a link works",
  fn() {
    withWorld({}, (world) => {
      const sorted = sortAddresses(world.live.map((h) => h.address));
      const rank = new Map(sorted.map((x, i) => [x, i]));
      const n = sorted.length;
      const pair = world.live.flatMap((a) =>
        world.live.filter((b) => {
          const d = (rank.get(b.address)! - rank.get(a.address)! + n) % n;
          return d >= n / 4 && d <= (3 * n) / 4 && nodeOf(b).upByAddress.has(a.address);
        }).map((b) => [a, b] as const)
      )[0] ?? assert.fail("no linked far-apart pair");
      const [a, b] = pair;
      nodeOf(b).disconnect(nodeOf(b).upByAddress.get(a.address)!, true);
      advance(world, 100); // a hears the Close; b lingers on the link
      assert.equal(linked(a, b), false, "the link was closed");
      burst(a, b);
      advance(world, 5_000);
      assert.equal(
        nodeOf(a).upByAddress.has(b.address),
        nodeOf(b).upByAddress.has(a.address),
        "the link is up at one end only",
      );
      assert.equal(hopsOf(world, a, b) !== undefined, true, "a message from a to b is lost");
    });
  },
});
