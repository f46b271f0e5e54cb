import assert from "node:assert/strict";
import { IoLoop } from "../../ffi/io_loop.ts";
import { AF_INET, formatIpv6, SockaddrCodec } from "../../ffi/sockaddr.ts";
import { getIntOption, SocketOption, UdpTransport } from "../../ffi/udp_transport.ts";
import { type Endpoint, endpoint, parseIpv6 } from "../../lib/transport/endpoint.ts";

/** Waits (in real time, test only) until `cond()` holds or `timeoutMs` passes. */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Runs `body` with a running IoLoop that is always stopped afterwards. */
async function withLoop(body: (loop: IoLoop) => Promise<void>): Promise<void> {
  const loop = new IoLoop();
  const errors: unknown[] = [];
  loop.onError = (err) => errors.push(err);
  const running = loop.run();
  try {
    await body(loop);
  } finally {
    await loop.stop();
    await running;
  }
  assert.deepEqual(errors, [], "no source threw");
}

interface Received {
  data: Uint8Array;
  from: Endpoint;
}

function collect(t: UdpTransport): Received[] {
  const got: Received[] = [];
  t.onReceive((data, from) => got.push({ data: data.slice(), from }));
  return got;
}

/** A datagram whose bytes encode its sequence number and direction. */
function datagram(seq: number, tag: number, len = 100): Uint8Array {
  const d = new Uint8Array(len);
  new DataView(d.buffer).setUint32(0, seq);
  d.fill(tag, 4);
  return d;
}

async function roundTrip(hostA: string, hostB: string, sendHostA: string, sendHostB: string) {
  await withLoop(async (loop) => {
    const a = UdpTransport.bind(loop, endpoint(hostA, 0), { batchSize: 16 });
    const b = UdpTransport.bind(loop, endpoint(hostB, 0), { batchSize: 16 });
    try {
      assert.notEqual(a.localEndpoint.port, 0);
      const gotA = collect(a);
      const gotB = collect(b);
      const count = 200; // many batches of 16
      const toB = endpoint(sendHostB, b.localEndpoint.port);
      const toA = endpoint(sendHostA, a.localEndpoint.port);
      for (let i = 0; i < count; i++) {
        a.send(toB, datagram(i, 0xaa, 50 + i));
        b.send(toA, datagram(i, 0xbb, 60 + i));
      }
      await waitFor(() => gotA.length === count && gotB.length === count, "round trip");
      for (
        const [got, tag, base, sender] of [
          [gotB, 0xaa, 50, a],
          [gotA, 0xbb, 60, b],
        ] as const
      ) {
        const seqs = got.map((r) => new DataView(r.data.buffer).getUint32(0)).sort((x, y) => x - y);
        assert.deepEqual(seqs, [...Array(count).keys()]);
        for (const r of got) {
          const seq = new DataView(r.data.buffer).getUint32(0);
          assert.equal(r.data.length, base + seq);
          assert.ok(r.data.subarray(4).every((x) => x === tag));
          assert.equal(r.from.port, sender.localEndpoint.port);
          assert.equal(r.from, got[0]!.from, "sender endpoint is interned");
        }
      }
      assert.equal(a.stats.datagramsSent, count);
      assert.equal(b.stats.datagramsReceived, count);
      assert.equal(a.stats.sendDrops, 0);
      gotA.forEach((r) => assert.ok(Object.isFrozen(r.from)));
    } finally {
      a.close();
      b.close();
    }
  });
}

Deno.test("UdpTransport round-trips many datagrams over IPv4 loopback", async () => {
  await roundTrip("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1");
});

Deno.test("UdpTransport round-trips many datagrams over IPv6 loopback", async () => {
  await roundTrip("::1", "::1", "::1", "::1");
});

Deno.test("UdpTransport reports the sender with the right address and family", async () => {
  await withLoop(async (loop) => {
    const v4 = UdpTransport.bind(loop, endpoint("127.0.0.1", 0));
    const v6 = UdpTransport.bind(loop, endpoint("::1", 0));
    const gotV4 = collect(v4);
    const gotV6 = collect(v6);
    try {
      v4.send(endpoint("127.0.0.1", v4.localEndpoint.port), datagram(1, 1));
      v6.send(endpoint("::1", v6.localEndpoint.port), datagram(2, 2));
      await waitFor(() => gotV4.length === 1 && gotV6.length === 1, "self sends");
      assert.deepEqual({ ...gotV4[0]!.from }, {
        host: "127.0.0.1",
        port: v4.localEndpoint.port,
        family: 4,
      });
      assert.deepEqual({ ...gotV6[0]!.from }, {
        host: "::1",
        port: v6.localEndpoint.port,
        family: 6,
      });
    } finally {
      v4.close();
      v6.close();
    }
  });
});

Deno.test("a dual-stack [::] socket sees IPv4 peers as family-4 endpoints and answers them", async () => {
  await withLoop(async (loop) => {
    const dual = UdpTransport.bind(loop, endpoint("::", 0));
    const peer = UdpTransport.bind(loop, endpoint("127.0.0.1", 0));
    const gotDual = collect(dual);
    const gotPeer = collect(peer);
    try {
      assert.equal(dual.localEndpoint.family, 6);
      peer.send(endpoint("127.0.0.1", dual.localEndpoint.port), datagram(7, 7));
      await waitFor(() => gotDual.length === 1, "v4 to dual stack");
      const from = gotDual[0]!.from;
      assert.deepEqual({ ...from }, {
        host: "127.0.0.1",
        port: peer.localEndpoint.port,
        family: 4,
      });
      dual.send(from, datagram(8, 8));
      await waitFor(() => gotPeer.length === 1, "dual stack answer");
      assert.equal(gotPeer[0]!.from.port, dual.localEndpoint.port);
      assert.equal(gotPeer[0]!.from.family, 4);
    } finally {
      dual.close();
      peer.close();
    }
  });
});

Deno.test("UdpTransport flushes bursts larger than its batch without an explicit flush", async () => {
  await withLoop(async (loop) => {
    const a = UdpTransport.bind(loop, endpoint("127.0.0.1", 0), { batchSize: 8 });
    const b = UdpTransport.bind(loop, endpoint("127.0.0.1", 0), { batchSize: 8 });
    const got = collect(b);
    try {
      const to = endpoint("127.0.0.1", b.localEndpoint.port);
      for (let i = 0; i < 8 * 5 + 3; i++) a.send(to, datagram(i, 3));
      assert.equal(a.stats.datagramsSent, 40, "full batches go out at once");
      await waitFor(() => got.length === 43, "burst");
      assert.equal(a.stats.datagramsSent, 43, "the partial batch goes out from a microtask");
    } finally {
      a.close();
      b.close();
    }
  });
});

Deno.test("UdpTransport drops and counts datagrams larger than its slots", async () => {
  await withLoop(async (loop) => {
    const small = UdpTransport.bind(loop, endpoint("127.0.0.1", 0), { slotBytes: 512 });
    const big = UdpTransport.bind(loop, endpoint("127.0.0.1", 0), { slotBytes: 4096 });
    const got = collect(small);
    try {
      const to = endpoint("127.0.0.1", small.localEndpoint.port);
      small.send(endpoint("127.0.0.1", big.localEndpoint.port), new Uint8Array(513));
      assert.equal(small.stats.sendDrops, 1, "too large to send");
      big.send(to, new Uint8Array(3000)); // truncated on receipt
      big.send(to, datagram(1, 1, 512)); // exactly fits
      big.flush();
      await waitFor(() => got.length === 1 && small.stats.receiveDrops === 1, "drop count");
      assert.equal(got[0]!.data.length, 512);
      assert.equal(small.stats.datagramsReceived, 1);
    } finally {
      small.close();
      big.close();
    }
  });
});

Deno.test("UdpTransport.close stops delivery, makes send a no-op and frees the port", async () => {
  await withLoop(async (loop) => {
    const a = UdpTransport.bind(loop, endpoint("127.0.0.1", 0));
    const b = UdpTransport.bind(loop, endpoint("127.0.0.1", 0));
    const got = collect(b);
    const to = endpoint("127.0.0.1", b.localEndpoint.port);
    a.send(to, datagram(1, 1));
    await waitFor(() => got.length === 1, "first datagram");
    b.close();
    b.close(); // idempotent
    a.send(to, datagram(2, 2));
    a.flush();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(got.length, 1);
    const sentBefore = b.stats.datagramsSent;
    b.send(endpoint("127.0.0.1", a.localEndpoint.port), datagram(3, 3));
    b.flush();
    assert.equal(b.stats.datagramsSent, sentBefore);
    const again = UdpTransport.bind(loop, b.localEndpoint);
    const gotAgain = collect(again);
    try {
      assert.equal(again.localEndpoint.port, b.localEndpoint.port);
      a.send(to, datagram(4, 4));
      await waitFor(() => gotAgain.length === 1, "rebound socket receives");
    } finally {
      again.close();
      a.close();
    }
  });
});

Deno.test("UdpTransport.bind on a taken port fails with a one-line message", async () => {
  await withLoop((loop) => {
    const a = UdpTransport.bind(loop, endpoint("127.0.0.1", 0));
    try {
      const port = a.localEndpoint.port;
      assert.throws(
        () => UdpTransport.bind(loop, endpoint("127.0.0.1", port)),
        (err: Error) =>
          err.message === `Cannot listen on 127.0.0.1:${port}: Address already in use`,
      );
    } finally {
      a.close();
    }
    return Promise.resolve();
  });
});

Deno.test("UdpTransport sets large socket buffers", async () => {
  await withLoop((loop) => {
    const a = UdpTransport.bind(loop, endpoint("127.0.0.1", 0), { socketBufferBytes: 1 << 20 });
    try {
      // Linux doubles the requested value for bookkeeping overhead.
      assert.ok(getIntOption(a.fd, SocketOption.SOL_SOCKET, SocketOption.SO_RCVBUF) >= 1 << 20);
      assert.ok(getIntOption(a.fd, SocketOption.SOL_SOCKET, SocketOption.SO_SNDBUF) >= 1 << 20);
    } finally {
      a.close();
    }
    return Promise.resolve();
  });
});

Deno.test("formatIpv6 writes RFC 5952 text that parses back", () => {
  for (
    const [text, want] of [
      ["::1", "::1"],
      ["::", "::"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["fe80:0:0:0:0:0:0:0", "fe80::"],
      ["1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"],
      ["2001:DB8::ABCD", "2001:db8::abcd"],
    ]
  ) {
    const bytes = parseIpv6(text!)!;
    assert.equal(formatIpv6(bytes), want);
    assert.deepEqual(parseIpv6(formatIpv6(bytes)), bytes);
  }
});

Deno.test("UdpTransport skips a datagram the kernel refuses and still sends the rest of the batch", async () => {
  await withLoop(async (loop) => {
    const a = UdpTransport.bind(loop, endpoint("127.0.0.1", 0));
    const b = UdpTransport.bind(loop, endpoint("127.0.0.1", 0));
    const got = collect(b);
    try {
      const to = endpoint("127.0.0.1", b.localEndpoint.port);
      a.send(to, datagram(1, 1));
      // From a loopback-bound socket the kernel refuses this (EINVAL, or ENETUNREACH).
      a.send(endpoint("198.18.0.1", 9), datagram(2, 2));
      a.send(endpoint("::1", 9), datagram(3, 3)); // no IPv6 from an IPv4 socket
      a.send(to, datagram(4, 4));
      a.flush();
      assert.equal(a.stats.sendDrops, 2);
      assert.equal(a.stats.datagramsSent, 2);
      await waitFor(() => got.length === 2, "the two good datagrams");
      assert.deepEqual(got.map((r) => r.data[4]), [1, 4]);
    } finally {
      a.close();
      b.close();
    }
  });
});

Deno.test("SockaddrCodec interns senders in a bounded table", () => {
  const codec = new SockaddrCodec(4, 8);
  const name = new Uint8Array(16);
  const dv = new DataView(name.buffer);
  dv.setUint16(0, AF_INET, true);
  const decodePort = (port: number) => {
    dv.setUint16(2, port, false);
    dv.setUint32(4, 0xc6120005, false); // 198.18.0.5
    return codec.decode(name, dv, 0)!;
  };
  const first = decodePort(1000);
  assert.deepEqual({ ...first }, { host: "198.18.0.5", port: 1000, family: 4 });
  assert.equal(decodePort(1000), first);
  for (let p = 1; p <= 100; p++) decodePort(p);
  assert.ok(codec.size <= 8);
});
