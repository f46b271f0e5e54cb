/**
 * Crossing handshake initiations (both sides initiate at once, as in hole punching): the side
 * with the lower key keeps its own and ignores the peer's, unless its own goes elsewhere than
 * where the peer's came from (a stale endpoint, which would never reach the peer).
 */
import assert from "node:assert/strict";
import { endpoint } from "../../lib/transport/endpoint.ts";
import { LinkHarness, type TestNode } from "../helpers/link_harness.ts";

function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Two nodes, the one with the lower public key first. */
function lowerAndHigher(h: LinkHarness): [TestNode, TestNode] {
  const a = h.addNode();
  const b = h.addNode();
  return compareKeys(a.identity.publicKey, b.identity.publicKey) < 0 ? [a, b] : [b, a];
}

function up(x: TestNode, y: TestNode): boolean {
  return x.links.peer(y.identity.publicKey)?.current != null &&
    y.links.peer(x.identity.publicKey)?.current != null;
}

Deno.test("the lower key answers an initiation from an endpoint its own does not go to", () => {
  const h = new LinkHarness();
  try {
    const [low, high] = lowerAndHigher(h);
    // The lower side only knows a stale endpoint of the higher one: its initiations are lost.
    const stale = endpoint(high.endpoint.host, high.endpoint.port + 1);
    low.links.addPeerAt(high.identity.publicKey, [stale]);
    high.links.addPeerAt(low.identity.publicKey, [low.endpoint]);
    h.run(2_500);
    assert.ok(up(low, high), "no link while the lower side's initiations went astray");
    const peer = low.links.peer(high.identity.publicKey)!;
    assert.deepEqual(peer.endpoint, high.endpoint);
  } finally {
    h.close();
  }
});

Deno.test("crossing initiations on the right endpoints give one handshake on each side", () => {
  const h = new LinkHarness();
  try {
    const [low, high] = lowerAndHigher(h);
    low.links.addPeerAt(high.identity.publicKey, [high.endpoint]);
    high.links.addPeerAt(low.identity.publicKey, [low.endpoint]);
    h.run(500);
    assert.ok(up(low, high));
    assert.equal(low.links.handshakesCompleted, 1);
    assert.equal(high.links.handshakesCompleted, 1);
  } finally {
    h.close();
  }
});

Deno.test("a first handshake nobody answers is retried after 1, 2, 4 s... within the punch window", () => {
  const h = new LinkHarness();
  try {
    const [a, b] = lowerAndHigher(h);
    const nowhere = endpoint(b.endpoint.host, b.endpoint.port + 7);
    a.links.addPeerAt(b.identity.publicKey, [nowhere]);
    const sentAt: number[] = [];
    let last = a.links.initiations;
    for (let t = 0; t <= 15_000; t += 100) {
      if (a.links.initiations !== last) sentAt.push(t);
      last = a.links.initiations;
      h.run(100);
    }
    // Sent at 0 (before the loop), then on the 1 s link tick once each interval has passed.
    assert.deepEqual(sentAt.map((t) => Math.round(t / 1000)), [1, 3, 7, 12]);
  } finally {
    h.close();
  }
});

Deno.test("a new round of punching for a peer still not linked sends at once, not at the next retry", () => {
  const h = new LinkHarness();
  try {
    const [a, b] = lowerAndHigher(h);
    const nowhere = endpoint(b.endpoint.host, b.endpoint.port + 7);
    b.links.addPeer(a.identity.publicKey, null); // b accepts a, does not initiate
    a.links.addPeerAt(b.identity.publicKey, [nowhere]);
    h.run(3_500); // initiations at 0, 1 and 3 s; the next retry would be at 7 s
    const before = a.links.initiations;
    a.links.addPeerAt(b.identity.publicKey, [b.endpoint]);
    assert.equal(a.links.initiations, before + 1, "no initiation for the new candidates");
    h.run(100);
    assert.ok(up(a, b), "no link from the new round");
    // A round right after another does not replace the handshake just sent.
    const c = h.addNode();
    a.links.addPeerAt(c.identity.publicKey, [nowhere]);
    const sent = a.links.initiations;
    a.links.addPeerAt(c.identity.publicKey, [nowhere]);
    assert.equal(a.links.initiations, sent, "a handshake 0 ms old was replaced");
  } finally {
    h.close();
  }
});

Deno.test("with a fan of sockets open for the peer, the lower key answers the peer's initiation", () => {
  // Birthday punching: the lower side's own initiations leave from its main socket, which the
  // peer's NAT does not let in, so it must not keep its own and ignore the peer's.
  for (const fan of [false, true]) {
    const h = new LinkHarness();
    try {
      const [low, high] = lowerAndHigher(h);
      low.links.addPeerAt(high.identity.publicKey, [high.endpoint]);
      if (fan) low.links.peer(high.identity.publicKey)!.fanUntil = h.clock.now() + 10_000;
      high.links.addPeerAt(low.identity.publicKey, [low.endpoint]);
      h.run(500);
      assert.ok(up(low, high), `fan ${fan}: no link`);
      // Sessions low made: its own; and with the fan, also the one answering high's initiation.
      assert.equal(low.links.handshakesCompleted, fan ? 2 : 1, `fan ${fan}`);
    } finally {
      h.close();
    }
  }
});
