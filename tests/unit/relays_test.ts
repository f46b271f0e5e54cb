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
  const near = { delete: -1n };
  const relays = new Relays({
    conns,
    now: () => clock.now,
    isNear: (a) => a !== near.delete,
    lostRecently: () => false,
    requestConnection: () => {},
  }, DEFAULT_RELAY_TUNING);
  return { clock, conns, relays, near };
}

const TARGET_INFO = info(99, true);
const TARGET = addressOfKey(TARGET_INFO.publicKey);

Deno.test("relays: a target's own list of links vouches for a common neighbour, while fresh", () => {
  const { clock, conns, relays } = setup();
  const c5 = upConnection(5);
  conns.set("5", c5);
  assert.equal(relays.offer(TARGET_INFO), false, "nobody vouches yet");
  relays.learnLinks(TARGET, [info(5)]);
  assert.equal(relays.offer(TARGET_INFO), true);
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

Deno.test("relays: the first hop of the target's own request is a common neighbour", () => {
  const { conns, relays } = setup();
  const c7 = upConnection(7);
  conns.set("7", c7);
  assert.equal(relays.offer(TARGET_INFO), false);
  relays.learnFirstHop(TARGET, c7.address);
  assert.equal(relays.offer(TARGET_INFO), true);
  assert.equal(relays.get(TARGET)?.via, c7);
  assert.equal(relays.get(TARGET)?.info, TARGET_INFO, "the relay keeps how to introduce it");
});

Deno.test("relays: a relay whose common neighbour sent a message back moves to another or goes", () => {
  const { conns, relays } = setup();
  const [c5, c6] = [upConnection(5), upConnection(6)];
  c5.peer.rttMs = 1;
  c6.peer.rttMs = 2;
  conns.set("5", c5);
  conns.set("6", c6);
  relays.learnLinks(TARGET, [info(5), info(6)]);
  assert.equal(relays.offer(TARGET_INFO), true);
  assert.equal(relays.get(TARGET)?.via, c5, "the lower RTT first");
  relays.notThrough(TARGET, c6);
  assert.equal(relays.get(TARGET)?.via, c5, "a bounce from another connection changes nothing");
  relays.notThrough(TARGET, c5);
  assert.equal(relays.get(TARGET)?.via, c6);
  assert.equal(relays.bounced, 1);
  relays.notThrough(TARGET, c6);
  assert.equal(relays.has(TARGET), false, "nobody else vouches: the relay goes");
  assert.equal(relays.offer(TARGET_INFO), false, "the bounced vouchers are forgotten");
});

Deno.test("relays: when all room is taken, a relay to a node no longer near makes room", () => {
  const { conns, relays, near } = setup();
  conns.set("5", upConnection(5));
  const targets = Array.from({ length: DEFAULT_RELAY_TUNING.maxRelays + 1 }, (_, i) => {
    const t = info(100 + i, true);
    relays.learnLinks(addressOfKey(t.publicKey), [info(5)]);
    return t;
  });
  const last = targets.pop()!;
  for (const t of targets) assert.equal(relays.offer(t), true);
  assert.equal(relays.offer(last), false, "full, and every relayed node is near");
  const first = addressOfKey(targets[0]!.publicKey);
  near.delete = first;
  assert.equal(relays.offer(last), true);
  assert.equal(relays.has(first), false, "the one no longer near went");
  assert.equal(relays.size, DEFAULT_RELAY_TUNING.maxRelays);
});
