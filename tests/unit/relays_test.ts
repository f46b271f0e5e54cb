/**
 * Relays: which up connection may carry traffic to a neighbour we cannot link to, and which
 * node to link to when none may (a public node the target says it is linked to).
 */
import assert from "node:assert/strict";
import { addressOfKey } from "../../lib/overlay/address.ts";
import { Connection } from "../../lib/overlay/connection.ts";
import type { NodeInfo } from "../../lib/overlay/node_info.ts";
import { DEFAULT_RELAY_TUNING, Relays } from "../../lib/overlay/relays.ts";
import { Peer } from "../../lib/link/peer.ts";
import { endpoint } from "../../lib/transport/endpoint.ts";

const info = (n: number, behindNat = false): NodeInfo => ({
  publicKey: new Uint8Array(32).fill(n),
  endpoints: [endpoint(`198.18.0.${n}`, 5800)],
  ...(behindNat ? { behindNat } : {}),
});

function upConnection(n: number): Connection {
  const key = new Uint8Array(32).fill(n);
  const peer = new Peer(key, key.toBase64(), new Uint8Array(32), null);
  const c = new Connection(peer, addressOfKey(key), 0);
  c.up = true;
  return c;
}

function setup() {
  const clock = { now: 0 };
  const conns = new Map<string, Connection>();
  const relays = new Relays({
    conns,
    now: () => clock.now,
    lostRecently: () => false,
    requestConnection: () => {},
  }, DEFAULT_RELAY_TUNING);
  return { clock, conns, relays };
}

const TARGET = 99n;

Deno.test("relays: a target's own list of links vouches for a common neighbour, while fresh", () => {
  const { clock, conns, relays } = setup();
  const c5 = upConnection(5);
  conns.set("5", c5);
  assert.equal(relays.offer(TARGET), false, "nobody vouches yet");
  relays.learnLinks(TARGET, [info(5)]);
  assert.equal(relays.offer(TARGET), true);
  assert.equal([...relays.entries()][0]!.via, c5);
  assert.equal(relays.isVia(c5), true, "a connection that carries a relay is not trimmed");
  clock.now = DEFAULT_RELAY_TUNING.listFreshMs + 1;
  relays.maintain(new Set());
  assert.equal(relays.size, 0, "a stale word no longer vouches");
  assert.equal(relays.isVia(c5), false);
});

Deno.test("relays: with no common neighbour, the introducer is a linked-to node without a NAT", () => {
  const { clock, relays } = setup();
  assert.equal(relays.introducer(TARGET, () => false), null, "nothing heard from the target");
  relays.learnLinks(TARGET, [info(1, true), info(2), info(3)]);
  const linked = new Set([2]);
  const h = relays.introducer(TARGET, (i) => linked.has(i.publicKey[0]!));
  assert.equal(h?.publicKey[0], 3, "skips NATed nodes and those we are linked to already");
  linked.add(3);
  assert.equal(relays.introducer(TARGET, (i) => linked.has(i.publicKey[0]!)), null);
  linked.delete(3);
  clock.now = DEFAULT_RELAY_TUNING.listFreshMs + 1;
  assert.equal(relays.introducer(TARGET, () => false), null, "a stale word introduces nobody");
});
