import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { endpoint } from "../../lib/transport/endpoint.ts";
import { ipv4Packet, LinkHarness } from "../helpers/link_harness.ts";

const PAYLOAD = new TextEncoder().encode("hello over ipop");

function established(h: LinkHarness): boolean {
  return h.nodes.every((n) => n.links.peers().every((p) => p.current !== null));
}

Deno.test("two nodes link and carry packets both ways", () => {
  const h = new LinkHarness();
  try {
    const [a, b] = [h.addNode(), h.addNode()];
    h.peer(a, b);
    h.run(100);
    assert.ok(established(h), "sessions established");
    a.tun.inject(ipv4Packet(a.virtualIp, b.virtualIp, PAYLOAD));
    b.tun.inject(ipv4Packet(b.virtualIp, a.virtualIp, PAYLOAD));
    h.run(10);
    assert.equal(b.tun.written.length, 1);
    assert.deepEqual(b.tun.written[0]!.subarray(28), PAYLOAD);
    assert.equal(a.tun.written.length, 1);
    assert.equal(a.links.drops.unauthenticated + b.links.drops.unauthenticated, 0);
  } finally {
    h.close();
  }
});

Deno.test("packets sent before the handshake wait for it and arrive", () => {
  const h = new LinkHarness();
  try {
    const [a, b] = [h.addNode(), h.addNode()];
    b.links.addPeer(a.identity.publicKey, null);
    a.links.addPeer(b.identity.publicKey, b.endpoint);
    // a learns b's address only from the handshake, so route by hand for the first packet.
    const peer = a.links.peers()[0]!;
    for (let i = 0; i < 3; i++) {
      a.links.sendPacket(peer, ipv4Packet(a.virtualIp, b.virtualIp, PAYLOAD));
    }
    h.run(50);
    assert.equal(b.tun.written.length, 3);
  } finally {
    h.close();
  }
});

Deno.test("a node with another network secret cannot link", () => {
  const h = new LinkHarness();
  try {
    const a = h.addNode({ psk: new Uint8Array(32).fill(1) });
    const b = h.addNode({ psk: new Uint8Array(32).fill(2) });
    h.peer(a, b);
    h.run(20_000);
    assert.ok(a.links.peers()[0]!.current === null && b.links.peers()[0]!.current === null);
    assert.ok(b.links.drops.unauthenticated > 0, "b counted the failed handshakes");
  } finally {
    h.close();
  }
});

Deno.test("an unknown key is refused even with the right secret", () => {
  const h = new LinkHarness();
  try {
    const [a, b] = [h.addNode(), h.addNode()];
    a.links.addPeer(b.identity.publicKey, b.endpoint); // b does not know a
    h.run(100);
    assert.equal(a.links.peers()[0]!.current, null);
    assert.ok(b.links.drops.notAllowed > 0);
  } finally {
    h.close();
  }
});

Deno.test("replayed data and handshake messages are counted and dropped", () => {
  const h = new LinkHarness();
  try {
    const [a, b] = [h.addNode(), h.addNode()];
    h.peer(a, b);
    h.run(100);
    for (let i = 0; i < 5; i++) a.tun.inject(ipv4Packet(a.virtualIp, b.virtualIp, PAYLOAD));
    h.run(10);
    assert.equal(b.tun.written.length, 5);
    const captured = [...b.transport.received];
    const attacker = h.network.bind(endpoint("198.18.0.99", 5800));
    for (const d of captured) attacker.send(b.endpoint, d);
    h.run(10);
    attacker.close();
    assert.equal(b.tun.written.length, 5, "nothing replayed reached the TUN");
    assert.ok(b.links.drops.replayed >= 5, `replayed ${b.links.drops.replayed}`);
    assert.ok(established(h), "the link survived");
  } finally {
    h.close();
  }
});

Deno.test("a packet with a spoofed inner source is dropped", () => {
  const h = new LinkHarness();
  try {
    const [a, b] = [h.addNode(), h.addNode()];
    h.peer(a, b);
    h.run(100);
    a.tun.inject(ipv4Packet("100.64.0.77", b.virtualIp, PAYLOAD));
    h.run(10);
    assert.equal(b.tun.written.length, 0);
    assert.equal(b.router.counters.spoofed, 1);
  } finally {
    h.close();
  }
});

Deno.test("sessions rekey after the message limit without losing packets", () => {
  const h = new LinkHarness();
  try {
    const tuning = { rekeyAfterMessages: 20 };
    const [a, b] = [h.addNode({ tuning }), h.addNode({ tuning })];
    h.peer(a, b);
    h.run(100);
    const first = a.links.peers()[0]!.current!;
    for (let i = 0; i < 100; i++) {
      a.tun.inject(ipv4Packet(a.virtualIp, b.virtualIp, PAYLOAD));
      h.run(1);
    }
    h.run(50);
    assert.equal(b.tun.written.length, 100);
    assert.ok(a.links.peers()[0]!.current !== first, "a new session replaced the first");
  } finally {
    h.close();
  }
});

Deno.test("sessions rekey on time and keepalives keep the link up", () => {
  const h = new LinkHarness();
  try {
    const [a, b] = [h.addNode(), h.addNode()];
    h.peer(a, b);
    h.run(100);
    const first = a.links.peers()[0]!.current!;
    const sentBefore = a.transport.stats.datagramsSent;
    h.run(135_000); // past rekeyAfterTime plus the responder's margin
    assert.ok(a.transport.stats.datagramsSent - sentBefore >= 10, "keepalives were sent");
    assert.ok(established(h));
    assert.ok(a.links.peers()[0]!.current !== first, "a new session replaced the first");
    a.tun.inject(ipv4Packet(a.virtualIp, b.virtualIp, PAYLOAD));
    h.run(10);
    assert.equal(b.tun.written.length, 1);
  } finally {
    h.close();
  }
});

Deno.test("a dead link is noticed and comes back after the partition heals", () => {
  const h = new LinkHarness();
  try {
    const [a, b] = [h.addNode(), h.addNode()];
    h.peer(a, b);
    h.run(100);
    h.network.partition(a.endpoint, b.endpoint);
    h.run(60_000);
    assert.equal(a.links.peers()[0]!.current, null, "a noticed the link is down");
    h.network.heal();
    h.run(10_000);
    assert.ok(established(h));
    a.tun.inject(ipv4Packet(a.virtualIp, b.virtualIp, PAYLOAD));
    h.run(10);
    assert.equal(b.tun.written.length, 1);
  } finally {
    h.close();
  }
});

Deno.test("links form over a lossy, reordering network", () => {
  const h = new LinkHarness(7, { latencyMs: 5, jitterMs: 20, lossRate: 0.2 });
  try {
    const [a, b, c] = [h.addNode(), h.addNode(), h.addNode()];
    h.peer(a, b);
    h.peer(b, c);
    h.peer(a, c);
    h.run(30_000);
    assert.ok(established(h));
    for (let i = 0; i < 200; i++) a.tun.inject(ipv4Packet(a.virtualIp, c.virtualIp, PAYLOAD));
    h.run(1000);
    const got = c.tun.written.length;
    assert.ok(got > 120 && got < 200, `about 80% arrive, got ${got}`);
    assert.equal(c.links.drops.replayed + c.links.drops.unauthenticated, 0);
  } finally {
    h.close();
  }
});

Deno.test("random datagrams never crash the link layer and are all counted", () => {
  const seed = Number(Deno.env.get("SEED") ?? 3);
  const h = new LinkHarness(seed);
  try {
    const [a, b] = [h.addNode(), h.addNode()];
    h.peer(a, b);
    h.run(100);
    const rng = new SeededRng(seed);
    const attacker = h.network.bind(endpoint("198.18.0.99", 5800));
    const sent = 5000;
    for (let i = 0; i < sent; i++) {
      const d = rng.fill(new Uint8Array(rng.uint32() % 400));
      if (d.length > 1 && i % 2 === 0) {
        d[0] = 1; // right version, so the type and size checks are exercised too
        d[1] = [1, 2, 4][i % 3]!;
      }
      attacker.send(b.endpoint, d);
    }
    h.run(10);
    attacker.close();
    const d = b.links.drops;
    const counted = d.malformed + d.unauthenticated + d.unknownSession + d.replayed +
      d.rateLimited + d.notAllowed;
    assert.equal(counted, sent, `seed ${seed}: every datagram counted`);
    assert.equal(b.tun.written.length, 0);
    assert.ok(established(h));
  } finally {
    h.close();
  }
});
