/**
 * Route choice with relayed neighbours: the sender of a relay hop knows which address it chose,
 * and the common neighbour that receives the hop takes it on over its own links only, so that
 * relayed hops cannot go round in a cycle.
 */
import assert from "node:assert/strict";
import type { OverlayAddress } from "../../lib/overlay/address.ts";
import { Connection } from "../../lib/overlay/connection.ts";
import { OverlayKind, type OverlayMessage } from "../../lib/overlay/overlay_message.ts";
import { chooseDirectHop, chooseHop, type RouteView } from "../../lib/overlay/route_choice.ts";
import { Peer } from "../../lib/link/peer.ts";

function conn(address: OverlayAddress): Connection {
  const key = new Uint8Array(32).fill(Number(address % 251n));
  return new Connection(new Peer(key, key.toBase64(), new Uint8Array(32), null), address, 0);
}

function message(dst: OverlayAddress): OverlayMessage {
  return {
    kind: OverlayKind.Data,
    flags: 0,
    hops: 0,
    ttl: 64,
    src: 1n,
    dst,
    body: new Uint8Array(),
  };
}

/** Node Y at 100: linked to T1 (300) and X (50); it relays T2 (390) through Z (150). */
function viewOfY(suspects: OverlayAddress[] = []): RouteView {
  const t1 = conn(300n);
  const x = conn(50n);
  const z = conn(150n);
  const byAddress = new Map<OverlayAddress, Connection>([[300n, t1], [50n, x], [150n, z], [
    390n,
    z,
  ]]);
  return {
    self: 100n,
    addresses: [...byAddress.keys()],
    directAddresses: [300n, 50n, 150n],
    byAddress,
    suspects: new Set(suspects),
  };
}

Deno.test("chooseHop names the relayed address it chose and the connection that reaches it", () => {
  const hop = chooseHop(viewOfY(), message(400n));
  assert.ok(typeof hop !== "string");
  assert.equal(hop.address, 390n);
  assert.equal(hop.conn.address, 150n, "through the common neighbour Z");
});

Deno.test("a relay hop goes on over the receiver's own links, never its relays", () => {
  const hop = chooseDirectHop(viewOfY(), message(400n));
  assert.ok(hop !== null);
  assert.equal(hop.address, 300n, "to T1, not to T2 through Z");
  assert.equal(hop.conn.address, 300n);
});

Deno.test("a relay hop avoids a suspect link while another own link gets closer", () => {
  assert.equal(chooseDirectHop(viewOfY([300n]), message(400n))!.address, 150n);
  const allSuspect = viewOfY([300n, 150n]);
  assert.equal(chooseDirectHop(allSuspect, message(300n))!.address, 300n, "no other way: T1");
});

Deno.test("a relay hop with no own link closer than the receiver is routed as usual", () => {
  assert.equal(chooseDirectHop(viewOfY(), message(90n)), null);
});
