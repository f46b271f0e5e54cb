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
