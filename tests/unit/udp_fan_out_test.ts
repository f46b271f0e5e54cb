/**
 * Birthday punching's socket side (`UdpTransport.fanOut`, `PortFan`) on loopback, where no NAT
 * drops the primers: so the peer sees every fan socket's port, answers one, and must then be
 * served by that socket alone.
 */
import assert from "node:assert/strict";
import { IoLoop } from "../../ffi/io_loop.ts";
import { UdpTransport } from "../../ffi/udp_transport.ts";
import { type Endpoint, endpoint } from "../../lib/transport/endpoint.ts";

async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function withPair(
  body: (a: UdpTransport, b: UdpTransport, gotA: Got[], gotB: Got[]) => Promise<void>,
): Promise<void> {
  const loop = new IoLoop();
  const errors: unknown[] = [];
  loop.onError = (err) => errors.push(err);
  const running = loop.run();
  const a = UdpTransport.bind(loop, endpoint("127.0.0.1", 0));
  const b = UdpTransport.bind(loop, endpoint("127.0.0.1", 0));
  const gotA: Got[] = [];
  const gotB: Got[] = [];
  a.onReceive((data, from) => gotA.push({ text: new TextDecoder().decode(data), from }));
  b.onReceive((data, from) => gotB.push({ text: new TextDecoder().decode(data), from }));
  try {
    await body(a, b, gotA, gotB);
  } finally {
    a.close();
    b.close();
    await loop.stop();
    await running;
  }
  assert.deepEqual(errors, []);
}

interface Got {
  text: string;
  from: Endpoint;
}

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("fanOut primes from every socket; the first answered socket then carries the peer", async () => {
  await withPair(async (a, b, gotA, gotB) => {
    const opts = { count: 8, ttl: 64, windowMs: 2_000 };
    assert.equal(a.fanOut([b.localEndpoint], bytes("primer"), opts), true);
    await waitFor(() => gotB.length === 8, "8 primers");
    const ports = new Set(gotB.map((g) => g.from.port));
    assert.equal(ports.size, 8, "one primer from each of 8 sockets");
    assert.ok(!ports.has(a.localEndpoint.port), "none from the main socket");
    assert.ok(gotB.every((g) => g.text === "primer"));

    // The peer's "guess" that hits: it reaches the main socket's handler.
    const [hitPort, otherPort] = [...ports];
    b.send(endpoint("127.0.0.1", hitPort!), bytes("hello"));
    await waitFor(() => gotA.length === 1, "the hit");
    assert.equal(gotA[0]!.text, "hello");
    assert.equal(gotA[0]!.from.port, b.localEndpoint.port);
    assert.equal(a.pinnedSockets, 1);

    // Sends to the peer now leave from the socket that was hit, and its traffic comes back.
    a.send(b.localEndpoint, bytes("reply"));
    a.flush();
    await waitFor(() => gotB.length === 9, "the reply");
    assert.equal(gotB[8]!.from.port, hitPort);
    b.send(endpoint("127.0.0.1", hitPort!), bytes("more"));
    await waitFor(() => gotA.length === 2, "more over the pinned socket");

    // The other fan sockets are closed: a late hit on one goes nowhere.
    b.send(endpoint("127.0.0.1", otherPort!), bytes("late"));
    b.send(a.localEndpoint, bytes("main"));
    await waitFor(() => gotA.length === 3, "the main socket still works");
    assert.deepEqual(gotA.map((g) => g.text), ["hello", "more", "main"]);
  });
});

Deno.test("a fan takes no datagram from another address and closes after its window", async () => {
  await withPair(async (a, stranger, gotA) => {
    const loop = new IoLoop();
    const running = loop.run();
    const target = UdpTransport.bind(loop, endpoint("127.0.0.2", 0));
    const primers: Got[] = [];
    target.onReceive((data, from) => primers.push({ text: new TextDecoder().decode(data), from }));
    try {
      const opts = { count: 4, ttl: 64, windowMs: 400 };
      assert.equal(a.fanOut([target.localEndpoint], bytes("primer"), opts), true);
      await waitFor(() => primers.length === 4, "4 primers");
      // Another host (127.0.0.1 is not the target's address) knows the ports: not accepted.
      for (const p of primers) stranger.send(endpoint("127.0.0.1", p.from.port), bytes("x"));
      stranger.flush();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(gotA.length, 0, "a stranger took a fan socket");
      assert.equal(a.pinnedSockets, 0);
      // After the window the sockets are gone: the target itself is too late.
      await new Promise((r) => setTimeout(r, 450));
      for (const p of primers) target.send(endpoint("127.0.0.1", p.from.port), bytes("late"));
      target.flush();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(gotA.length, 0, "a fan socket outlived its window");
      // At most two fans at once; one toward the same host replaces the open one.
      const one = { count: 1, ttl: 64, windowMs: 5_000 };
      const to = (host: string) => [endpoint(host, 9)];
      assert.equal(a.fanOut(to("127.0.0.3"), bytes("p"), one), true);
      assert.equal(a.fanOut(to("127.0.0.4"), bytes("p"), one), true);
      assert.equal(a.fanOut(to("127.0.0.5"), bytes("p"), one), false);
      assert.equal(a.fanOut(to("127.0.0.4"), bytes("p"), one), true);
    } finally {
      target.close();
      await loop.stop();
      await running;
    }
  });
});
