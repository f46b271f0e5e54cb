/**
 * Closing a link politely, and linking again while it lingers, on real nodes in virtual time:
 * the link must stay usable on both sides after the linger (it used to end by removing the new
 * session on the side that closed, so the other side sent into a dead link for 15 s).
 * `SEED=n` replays a run.
 */
import assert from "node:assert/strict";
import type { SimWorld } from "../../bench/sim/world.ts";
import { overlayWorld } from "../helpers/sim_world.ts";
import type { OverlayNode } from "../../lib/overlay/overlay_node.ts";

const SEED = Number(Deno.env.get("SEED") ?? 1);
/** One-way latency of the fake network, virtual ms. */
const LATENCY_MS = 10;

/** A converged ring of 12 nodes, and in it two linked nodes that are not ring neighbours. */
function pair(): { world: SimWorld; a: OverlayNode; b: OverlayNode } {
  const world = overlayWorld({ seed: SEED, latencyMs: LATENCY_MS });
  const first = world.spawn([]);
  for (let i = 1; i < 12; i++) world.spawn([first.endpoint]);
  world.runUntil(world.clock.now() + 40_000);
  const nodes = world.live.map((h) => h.node as unknown as OverlayNode);
  for (const a of nodes) {
    const conn = [...a.upByAddress.values()].find((c) => c.kind !== "near");
    const b = conn && nodes.find((n) => n.address === conn.address);
    if (b && b.upByAddress.get(a.address)?.kind !== "near") return { world, a, b };
  }
  world.close();
  throw new Error(`SEED=${SEED}: no linked pair outside the ring neighbourhood`);
}

Deno.test("a link closed and asked for again while it lingers is up on both sides after", () => {
  const { world, a, b } = pair();
  try {
    const delivered: string[] = [];
    a.onDeliver((d) => delivered.push(new TextDecoder().decode(d.payload)));
    const toB = a.upByAddress.get(b.address)!;
    a.disconnect(toB, true); // Close, then a lingers
    world.runUntil(world.clock.now() + LATENCY_MS * 2); // b has the Close: b lingers too
    assert.equal(b.upByAddress.has(a.address), false, "b still routes over the closed link");
    const info = a.selfInfo();
    b.connect(info.publicKey, info.endpoints); // b wants it again: a new handshake
    world.runUntil(world.clock.now() + 5_000); // well past both lingers
    assert.ok(a.upByAddress.has(b.address), "a lost the link it was asked for again");
    assert.ok(b.upByAddress.has(a.address), "b lost the link it asked for");
    b.send(a.address, "exact", new TextEncoder().encode("after the linger"));
    world.runUntil(world.clock.now() + 1_000);
    assert.deepEqual(delivered, ["after the linger"]);
    assert.equal(world.errorCount, 0, `node code threw: ${world.errors[0]?.message}`);
  } finally {
    world.close();
  }
});

Deno.test("a message sent just before a Close that overtakes it is still delivered", () => {
  const { world, a, b } = pair();
  try {
    const delivered: string[] = [];
    b.onDeliver((d) => delivered.push(new TextDecoder().decode(d.payload)));
    // The message and the Close leave a at once; with jitter the Close may arrive first.
    world.network.jitterMs = LATENCY_MS;
    for (let i = 0; i < 20; i++) a.send(b.address, "exact", new TextEncoder().encode(`m${i}`));
    a.disconnect(a.upByAddress.get(b.address)!, true);
    world.runUntil(world.clock.now() + 1_000);
    assert.equal(delivered.length, 20, `delivered ${delivered.length} of 20`);
  } finally {
    world.close();
  }
});
