/**
 * The smallest overlays get addresses too: a founder alone, and a founder with one joiner (in a
 * ring of two, the one other node is the neighbour on both sides; a joiner once waited for a
 * second neighbour that could never come).
 */
import assert from "node:assert/strict";
import { loadFastAead } from "../../ffi/fast_aead.ts";
import { loadFastX25519 } from "../../ffi/sodium_x25519.ts";
import { leasedNodeFactory } from "../../bench/sim/leased_node_factory.ts";
import { SimWorld } from "../../bench/sim/world.ts";
import { parseSubnet } from "../../lib/dhcp/subnet.ts";

Deno.test("lease: a founder alone, then a founder and one joiner, each hold an address", () => {
  const { factory, nodes } = leasedNodeFactory({
    network: "two",
    subnet: parseSubnet("100.64.0.0/24"),
  });
  const world = new SimWorld({
    seed: 1,
    factory,
    aead: loadFastAead(),
    x25519: loadFastX25519(),
    latencyMs: 5,
  });
  try {
    const a = world.spawn([]);
    world.runUntil(1_000);
    assert.equal(nodes.get(a.address)!.lease.state, "bound", "a founder alone claims at once");
    const b = world.spawn([a.endpoint]);
    world.runUntil(world.clock.now() + 10_000);
    const la = nodes.get(a.address)!.lease.lease;
    const lb = nodes.get(b.address)!.lease.lease;
    assert.ok(lb, `the joiner has no lease: ${nodes.get(b.address)!.lease.state}`);
    assert.ok(la);
    assert.notEqual(la.ip, lb.ip);
    assert.equal(world.errorCount, 0, world.errors[0]?.message);
  } finally {
    world.close();
  }
});

Deno.test("lease: a founder's lease won alone is not handed out again as others join", () => {
  // A /29 has 5 assignable addresses: with 5 nodes, joiners' first choices often fall on the
  // founder's, whose claim was stored on the founder alone.
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const { factory, nodes } = leasedNodeFactory({
      network: "tiny",
      subnet: parseSubnet("100.64.0.0/29"),
    });
    const world = new SimWorld({
      seed,
      factory,
      aead: loadFastAead(),
      x25519: loadFastX25519(),
      latencyMs: 5,
    });
    try {
      const founder = world.spawn([]);
      world.runUntil(1_000);
      for (let i = 0; i < 4; i++) world.spawn([founder.endpoint]);
      world.runUntil(world.clock.now() + 20_000);
      const held = world.live.map((h) => nodes.get(h.address)!.lease.lease?.ip ?? null);
      assert.ok(held.every((ip) => ip !== null), `seed ${seed}: some node has no lease: ${held}`);
      assert.equal(new Set(held).size, held.length, `seed ${seed}: an address is held twice`);
    } finally {
      world.close();
    }
  }
});
