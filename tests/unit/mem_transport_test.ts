import assert from "node:assert/strict";
import { RealClock } from "../../lib/clock/real_clock.ts";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import { type Endpoint, endpoint } from "../../lib/transport/endpoint.ts";
import { MemNetwork, type MemNetworkOptions } from "../../lib/transport/mem_network.ts";
import type { MemTransport } from "../../lib/transport/mem_transport.ts";

const A = endpoint("198.18.0.1", 5800);
const B = endpoint("198.18.0.2", 5800);
const C = endpoint("198.18.0.3", 5800);

interface Arrival {
  seq: number;
  from: Endpoint;
  at: number;
}

function setup(opts: MemNetworkOptions = {}) {
  const clock = new VirtualClock();
  const net = new MemNetwork(clock, opts);
  const a = net.bind(A);
  const b = net.bind(B);
  const got: Arrival[] = [];
  b.onReceive((data, from) => got.push({ seq: data[0]! | (data[1]! << 8), from, at: clock.now() }));
  return { clock, net, a, b, got };
}

function sendSeq(t: MemTransport, to: Endpoint, seq: number): void {
  t.send(to, Uint8Array.of(seq & 0xff, seq >> 8, 0xee));
}

Deno.test("MemNetwork delivers after the configured latency, in send order", () => {
  const { clock, a, got } = setup({ latencyMs: 30 });
  for (let i = 0; i < 10; i++) sendSeq(a, B, i);
  clock.advance(29);
  assert.equal(got.length, 0);
  clock.advance(1);
  assert.deepEqual(got.map((g) => g.seq), [...Array(10).keys()]);
  assert.ok(got.every((g) => g.at === 30 && g.from.host === A.host && g.from.port === A.port));
});

Deno.test("MemTransport never calls the handler from inside send, even at zero latency", () => {
  const { clock, a, got } = setup();
  sendSeq(a, B, 1);
  assert.equal(got.length, 0);
  clock.runUntilIdle();
  assert.equal(got.length, 1);
});

Deno.test("MemTransport.send copies the datagram and the receiver may keep its bytes", () => {
  const { clock, a, b } = setup();
  const kept: Uint8Array[] = [];
  b.onReceive((data) => kept.push(data));
  const buf = Uint8Array.of(1, 2, 3);
  a.send(B, buf);
  buf.fill(9);
  a.send(B, buf);
  clock.runUntilIdle();
  assert.deepEqual(kept, [Uint8Array.of(1, 2, 3), Uint8Array.of(9, 9, 9)]);
});

Deno.test("MemNetwork jitter reorders datagrams but delivers each once within the bound", () => {
  const { clock, a, got } = setup({ latencyMs: 10, jitterMs: 20, seed: 5 });
  for (let i = 0; i < 200; i++) sendSeq(a, B, i);
  clock.runUntilIdle();
  assert.deepEqual(got.map((g) => g.seq).sort((x, y) => x - y), [...Array(200).keys()]);
  assert.ok(got.some((g, i) => g.seq !== i), "some datagrams were reordered");
  assert.ok(got.every((g) => g.at >= 10 && g.at < 30));
});

Deno.test("MemNetwork loses roughly lossRate of the datagrams", () => {
  const { clock, net, a, got } = setup({ lossRate: 0.25, seed: 11 });
  for (let i = 0; i < 4000; i++) sendSeq(a, B, i);
  clock.runUntilIdle();
  const lost = 4000 - got.length;
  assert.ok(lost > 880 && lost < 1120, `lost ${lost} of 4000`);
  assert.equal(net.stats.lost, lost);
  assert.equal(net.stats.delivered, got.length);
});

Deno.test("MemNetwork runs are a pure function of the seed", () => {
  const run = (seed: number) => {
    const { clock, a, got } = setup({ lossRate: 0.3, latencyMs: 5, jitterMs: 50, seed });
    for (let i = 0; i < 300; i++) sendSeq(a, B, i);
    clock.runUntilIdle();
    return got.map((g) => `${g.seq}@${g.at}`);
  };
  assert.deepEqual(run(99), run(99));
  assert.notDeepEqual(run(99), run(100));
});

Deno.test("MemNetwork partitions block both directions until healed", () => {
  const { clock, net, a, b, got } = setup();
  const gotA: number[] = [];
  a.onReceive((d) => gotA.push(d[0]!));
  const c = net.bind(C);
  net.partition(A, endpoint(B.host, 0)); // all ports of B
  sendSeq(a, B, 1);
  sendSeq(b, A, 2);
  sendSeq(c, B, 3);
  clock.runUntilIdle();
  assert.deepEqual(got.map((g) => g.seq), [3]);
  assert.deepEqual(gotA, []);
  assert.equal(net.stats.blocked, 2);
  net.heal(A, endpoint(B.host, 0));
  sendSeq(a, B, 4);
  clock.runUntilIdle();
  assert.deepEqual(got.map((g) => g.seq), [3, 4]);
});

Deno.test("MemNetwork route hook can drop or rewrite the source (a NAT model)", () => {
  const pub = endpoint("198.19.0.1", 40000);
  const { clock, net, a, got } = setup({
    route: (from, to) => to.port === 9 ? false : from.host === A.host ? { from: pub, to } : true,
  });
  sendSeq(a, endpoint(B.host, 9), 1);
  sendSeq(a, B, 2);
  clock.runUntilIdle();
  assert.deepEqual(got.map((g) => [g.seq, g.from]), [[2, pub]]);
  assert.equal(net.stats.blocked, 1);
});

Deno.test("MemTransport close stops delivery, makes send a no-op and frees the endpoint", () => {
  const { clock, net, a, b, got } = setup({ latencyMs: 10 });
  sendSeq(a, B, 1);
  b.close();
  b.close();
  clock.runUntilIdle();
  assert.equal(got.length, 0);
  assert.equal(net.stats.unreachable, 1);
  sendSeq(b, A, 2);
  assert.equal(b.stats.datagramsSent, 0);
  const again = net.bind(B);
  const got2: number[] = [];
  again.onReceive((d) => got2.push(d[0]!));
  sendSeq(a, B, 3);
  clock.runUntilIdle();
  assert.deepEqual(got2, [3]);
});

Deno.test("MemNetwork.bind picks free ports for port 0 and refuses taken endpoints", () => {
  const net = new MemNetwork(new VirtualClock());
  const x = net.bind(endpoint("198.18.0.9", 0));
  const y = net.bind(endpoint("198.18.0.9", 0));
  assert.notEqual(x.localEndpoint.port, 0);
  assert.notEqual(x.localEndpoint.port, y.localEndpoint.port);
  assert.throws(
    () => net.bind(x.localEndpoint),
    { message: `Cannot listen on 198.18.0.9:${x.localEndpoint.port}: Address already in use` },
  );
});

Deno.test("MemTransport drops and counts datagrams over the size limit", () => {
  const { clock, a, got } = setup({ maxDatagramBytes: 100 });
  a.send(B, new Uint8Array(101));
  a.send(B, new Uint8Array(100));
  clock.runUntilIdle();
  assert.equal(a.stats.sendDrops, 1);
  assert.equal(got.length, 1);
});

Deno.test("MemNetwork.close cancels in-flight datagrams on a real clock", () => {
  const net = new MemNetwork(new RealClock(), { latencyMs: 10_000 });
  const a = net.bind(A);
  net.bind(B);
  sendSeq(a, B, 1);
  assert.equal(net.inFlight, 1);
  net.close(); // the test's timer sanitizer fails if the timer were left behind
  assert.equal(net.inFlight, 0);
});
