/**
 * Overlay ping and traceroute (`lib/overlay/echo.ts`) on real nodes in virtual time: an echo
 * request is answered by its destination; requests with hop limits 1, 2, … are answered, where
 * the limit runs out, by the nodes along the route, which ends at the destination and matches
 * the hops the request takes. `SEED=n` replays a run.
 */
import assert from "node:assert/strict";
import { overlayWorld } from "../helpers/sim_world.ts";
import type { EchoResult } from "../../lib/overlay/echo.ts";
import { DEFAULT_TTL } from "../../lib/overlay/overlay_message.ts";
import type { OverlayNode } from "../../lib/overlay/overlay_node.ts";

const SEED = Number(Deno.env.get("SEED") ?? 1);

Deno.test("echo: ping is answered and the trace walks the route to the destination", () => {
  const world = overlayWorld({ seed: SEED, latencyMs: 10, jitterMs: 2 });
  try {
    const first = world.spawn([]);
    for (let i = 1; i < 48; i++) {
      world.runUntil(world.clock.now() + 50);
      world.spawn([first.endpoint]);
    }
    for (let t = 0; t < 120 && world.consistency().fraction < 1; t++) {
      world.runUntil(world.clock.now() + 1_000);
    }
    assert.equal(world.consistency().fraction, 1, `SEED=${SEED}`);
    const nodes = world.live.map((h) => h.node as unknown as OverlayNode);
    // A pair that is not linked directly (not even by a link still coming up), so the route has
    // several hops. Right after convergence the links of the join are still there: wait for
    // them to be trimmed if need be.
    const linkedTo = (n: OverlayNode) => new Set([...n.conns.values()].map((c) => c.address));
    const unlinkedPair = (): [OverlayNode, OverlayNode] | undefined => {
      for (const a of nodes) {
        const b = nodes.find((n) => n !== a && !linkedTo(a).has(n.address));
        if (b && !linkedTo(b).has(a.address)) return [a, b];
      }
    };
    for (let t = 0; t < 60 && !unlinkedPair(); t++) world.runUntil(world.clock.now() + 1_000);
    const [a, b] = unlinkedPair() ?? assert.fail("every node is linked to every other");
    const echo = (ttl: number): EchoResult => {
      let result: EchoResult | undefined;
      a.echoes.send(b.address, ttl, 2_000, (r) => result = r);
      world.runUntil(world.clock.now() + 2_500);
      assert.ok(result, "the echo never ended");
      return result;
    };
    const ping = echo(DEFAULT_TTL);
    assert.equal(ping.kind, "reply", `SEED=${SEED}: ${JSON.stringify(ping)}`);
    const route: bigint[] = [];
    for (let ttl = 1; ttl <= 16; ttl++) {
      const step = echo(ttl);
      if (step.kind === "reply") break;
      assert.equal(step.kind, "expired", `hop ${ttl}: ${step.kind}`);
      if (step.kind === "expired") route.push(step.at);
      if (route.at(-1) === b.address) break;
    }
    assert.equal(route.at(-1), b.address, "the trace ends at the destination");
    assert.ok(route.length >= 2, `a multi-hop route, got ${route.length}`);
    assert.equal(new Set(route).size, route.length, "no node twice: no loop");
    // Each hop is linked to the next.
    assert.ok(a.upByAddress.has(route[0]!), "the first hop is one of a's connections");
    for (let i = 0; i + 1 < route.length; i++) {
      const hop = nodes.find((n) => n.address === route[i])!;
      assert.ok(hop.upByAddress.has(route[i + 1]!), `hop ${i} is linked to hop ${i + 1}`);
    }
    // Nobody answers an echo to an address that does not exist: a timeout, not a crash.
    let missing: EchoResult | undefined;
    a.echoes.send(b.address ^ 1n, DEFAULT_TTL, 1_000, (r) => missing = r);
    world.runUntil(world.clock.now() + 1_500);
    assert.equal(missing?.kind, "timeout");
    assert.equal(world.errorCount, 0, world.errors[0]?.message);
  } finally {
    world.close();
  }
});
