import assert from "node:assert/strict";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import { type Endpoint, endpoint, sameEndpoint } from "../../lib/transport/endpoint.ts";
import {
  NAT_TYPES,
  NatFabric,
  type NatFabricOptions,
  type NatType,
} from "../../lib/transport/mem_nat.ts";
import { MemNetwork, type Route } from "../../lib/transport/mem_network.ts";

/** Seeds the port choices; `SEED=n` replays a run, and a failure names its seed. */
const SEED = Number(Deno.env.get("SEED") ?? 7);

function seededTest(name: string, fn: () => void): void {
  Deno.test(name, () => {
    try {
      fn();
    } catch (e) {
      throw new Error(`Failed with SEED=${SEED}`, { cause: e });
    }
  });
}

/** A host behind the NAT. */
const H = endpoint("198.18.0.1", 5800);
/** A second host on the same LAN. */
const H2 = endpoint("198.18.0.2", 5800);
/** The NAT's public address. */
const NAT_IP = "198.18.100.1";
/** Three outside hosts: X1, X1 with another port, another address. */
const X1 = endpoint("198.18.1.1", 5800);
const X1_OTHER_PORT = endpoint("198.18.1.1", 5801);
const X2 = endpoint("198.18.1.2", 5800);

function setup(type: NatType, opts: NatFabricOptions = {}) {
  const clock = new VirtualClock();
  const fabric = new NatFabric(clock, { seed: SEED, ...opts });
  const nat = fabric.addNat(NAT_IP, type);
  fabric.attach(H.host, nat);
  fabric.attach(H2.host, nat);
  return { clock, fabric, nat };
}

/** Sends from `from` to `to` through the route hook; the rewritten route, or null if dropped. */
function send(fabric: NatFabric, from: Endpoint, to: Endpoint): Route | null {
  const r = fabric.route(from, to);
  if (r === false) return null;
  return r === true ? { from, to } : r;
}

/** The public endpoint outside host `to` sees when H sends to it. */
function outbound(fabric: NatFabric, to: Endpoint): Endpoint {
  const r = send(fabric, H, to);
  assert.ok(r, `H -> ${to.host}:${to.port} was dropped`);
  assert.ok(sameEndpoint(r.to, to), "outbound destination must not change");
  return r.from;
}

/** True when `from` reaches H by sending to H's public endpoint `pub`. */
function reachesH(fabric: NatFabric, from: Endpoint, pub: Endpoint): boolean {
  const r = send(fabric, from, pub);
  if (r === null) return false;
  assert.ok(sameEndpoint(r.to, H), "inbound must be translated to the private endpoint");
  assert.ok(sameEndpoint(r.from, from), "inbound source from a public host must not change");
  return true;
}

const EXPECTED: Record<NatType, { mappingPerDestination: boolean; admits: boolean[] }> = {
  // admits: [X1, X1 other port, X2] after H sent only to X1.
  "full-cone": { mappingPerDestination: false, admits: [true, true, true] },
  "address-restricted": { mappingPerDestination: false, admits: [true, true, false] },
  "port-restricted": { mappingPerDestination: false, admits: [true, false, false] },
  "symmetric": { mappingPerDestination: true, admits: [true, false, false] },
};

for (const type of NAT_TYPES) {
  seededTest(`${type} NAT maps and filters as RFC 4787 describes`, () => {
    const expected = EXPECTED[type];
    {
      const { fabric } = setup(type);
      const p1 = outbound(fabric, X1);
      assert.equal(p1.host, NAT_IP);
      const admits = [X1, X1_OTHER_PORT, X2].map((x) => reachesH(fabric, x, p1));
      assert.deepEqual(admits, expected.admits);
      const s = fabric.stats();
      const refused = expected.admits.filter((a) => !a).length;
      assert.equal(s.droppedByFilter, refused);
      assert.equal(s.translated, 1 + expected.admits.length - refused);
    }
    {
      const { fabric } = setup(type);
      const seen = [X1, X1_OTHER_PORT, X2].map((x) => outbound(fabric, x));
      const distinctPorts = new Set(seen.map((e) => e.port)).size;
      assert.ok(seen.every((e) => e.host === NAT_IP));
      assert.equal(distinctPorts, expected.mappingPerDestination ? 3 : 1);
      assert.equal(fabric.stats().mappings, expected.mappingPerDestination ? 3 : 1);
    }
  });
}

seededTest(
  "endpoint-independent NAT keeps the private port and picks another when it is taken",
  () => {
    const { fabric } = setup("port-restricted");
    assert.equal(outbound(fabric, X1).port, H.port);
    const second = send(fabric, H2, X1);
    assert.ok(second);
    assert.equal(second.from.host, NAT_IP);
    assert.notEqual(second.from.port, H.port);
    assert.ok(second.from.port >= 1024 && second.from.port <= 65535);
    assert.deepEqual(fabric.publicEndpointOf(H2, X2), second.from);
  },
);

seededTest("symmetric NAT gives two destinations different public ports from one socket", () => {
  const { fabric } = setup("symmetric");
  const toX1 = outbound(fabric, X1);
  const toX2 = outbound(fabric, X2);
  assert.notEqual(toX1.port, toX2.port);
  // The same destination keeps its mapping.
  assert.equal(outbound(fabric, X1).port, toX1.port);
  // X2 cannot use the port mapped toward X1, but can use its own.
  assert.equal(reachesH(fabric, X2, toX1), false);
  assert.equal(reachesH(fabric, X2, toX2), true);
});

seededTest("port choices are a pure function of the seed", () => {
  const ports = (seed: number) => {
    const { fabric } = setup("symmetric", { seed });
    return [X1, X1_OTHER_PORT, X2].map((x) => outbound(fabric, x).port);
  };
  assert.deepEqual(ports(SEED), ports(SEED));
  assert.notDeepEqual(ports(SEED), ports(SEED + 1));
});

seededTest("inbound datagram before any outbound one is dropped for lack of a mapping", () => {
  const { fabric } = setup("full-cone");
  assert.equal(reachesH(fabric, X1, endpoint(NAT_IP, H.port)), false);
  assert.equal(fabric.stats().droppedNoMapping, 1);
  assert.equal(fabric.publicEndpointOf(H, X1), null);
});

seededTest("mapping expires after mappingTimeoutMs idle and outbound traffic refreshes it", () => {
  const { clock, fabric } = setup("port-restricted", {
    mappingTimeoutMs: 30_000,
    inboundRefreshes: false,
  });
  const pub = outbound(fabric, X1);
  clock.advance(20_000);
  outbound(fabric, X1); // refresh at t=20 s
  clock.advance(30_000); // idle exactly the timeout: still live
  assert.equal(reachesH(fabric, X1, pub), true);
  clock.advance(1); // inbound did not refresh: now expired
  assert.equal(reachesH(fabric, X1, pub), false);
  assert.equal(fabric.stats().droppedNoMapping, 1);
  assert.equal(fabric.stats().mappings, 0);
});

seededTest("admitted inbound traffic refreshes a mapping by default", () => {
  const { clock, fabric } = setup("port-restricted", { mappingTimeoutMs: 30_000 });
  const pub = outbound(fabric, X1);
  for (let i = 0; i < 5; i++) {
    clock.advance(25_000);
    assert.equal(reachesH(fabric, X1, pub), true, `inbound #${i} at ${clock.now()} ms`);
  }
  clock.advance(30_001);
  assert.equal(reachesH(fabric, X1, pub), false);
});

seededTest("filter permission expires on its own while the mapping stays alive", () => {
  const { clock, fabric } = setup("address-restricted", { mappingTimeoutMs: 10_000 });
  const pub = outbound(fabric, X1);
  clock.advance(8_000);
  outbound(fabric, X2); // keeps the mapping alive, but only X2's permission
  clock.advance(8_000);
  assert.equal(reachesH(fabric, X2, pub), true);
  assert.equal(reachesH(fabric, X1, pub), false);
  assert.equal(fabric.stats().droppedByFilter, 1);
});

seededTest(
  "priming opens the filter for exactly the primed destination and delivers nothing",
  () => {
    const { fabric } = setup("port-restricted");
    const primed = fabric.primeMapping(H, X1);
    assert.deepEqual(primed, { host: NAT_IP, port: H.port, family: 4 });
    assert.deepEqual(fabric.publicEndpointOf(H, X1), primed);
    assert.equal(fabric.stats().translated, 0);
    assert.equal(reachesH(fabric, X1_OTHER_PORT, primed), false);
    assert.equal(reachesH(fabric, X2, primed), false);
    assert.equal(reachesH(fabric, X1, primed), true);
    // A public host has nothing to prime.
    assert.equal(fabric.primeMapping(X1, H), null);
  },
);

seededTest("hosts behind the same NAT reach each other's private endpoints unchanged", () => {
  const { fabric } = setup("symmetric");
  assert.equal(fabric.route(H, H2), true);
  assert.equal(fabric.route(H2, H), true);
  assert.equal(fabric.stats().mappings, 0);
});

seededTest("sending to the host's own NAT public address is dropped (no hairpinning)", () => {
  const { fabric } = setup("full-cone");
  const pubOfH2 = send(fabric, H2, X1)!.from;
  assert.equal(fabric.route(H, pubOfH2), false);
  assert.equal(fabric.stats().droppedHairpin, 1);
});

seededTest("a private address behind another NAT is unreachable from outside", () => {
  const { fabric } = setup("full-cone");
  outbound(fabric, X1);
  assert.equal(fabric.route(X1, H), false);
  const other = fabric.addNat("198.18.100.2", "full-cone");
  const c = endpoint("198.18.2.1", 5800);
  fabric.attach(c.host, other);
  assert.equal(fabric.route(c, H), false);
  assert.equal(fabric.stats().droppedUnroutable, 2);
});

seededTest("two NATed hosts reach each other through both translations", () => {
  const { fabric } = setup("full-cone");
  const other = fabric.addNat("198.18.100.2", "port-restricted");
  const c = endpoint("198.18.2.1", 5800);
  fabric.attach(c.host, other);
  const cPub = fabric.primeMapping(c, endpoint(NAT_IP, H.port))!;
  const hPub = fabric.primeMapping(H, cPub)!;
  assert.deepEqual(fabric.route(H, cPub), { from: hPub, to: c });
  assert.deepEqual(fabric.route(c, hPub), { from: cPub, to: H });
});

seededTest("addNat and attach refuse addresses already in use", () => {
  const { fabric, nat } = setup("full-cone");
  assert.throws(() => fabric.addNat(NAT_IP, "symmetric"), /Address already in use/);
  assert.throws(() => fabric.addNat(H.host, "symmetric"), /Address already in use/);
  const other = fabric.addNat("198.18.100.2", "symmetric");
  assert.throws(() => fabric.attach(H.host, other), /Already behind/);
  assert.throws(() => fabric.attach(other.publicHost, nat), /public address/);
  assert.equal(fabric.natOf(H.host), nat);
  assert.equal(fabric.natOf(X1.host), undefined);
});

seededTest("a symmetric NAT contacting many destinations keeps its table bounded", () => {
  const timeoutMs = 1_000;
  const { clock, fabric, nat } = setup("symmetric", { mappingTimeoutMs: timeoutMs });
  const perTickCount = 50;
  const tickMs = 100;
  let maxSize = 0;
  for (let tick = 0; tick < 200; tick++) {
    for (let i = 0; i < perTickCount; i++) {
      const n = tick * perTickCount + i;
      outbound(fabric, endpoint(`198.19.${(n >> 8) & 255}.${n & 255}`, 5800));
    }
    maxSize = Math.max(maxSize, nat.size);
    clock.advance(tickMs);
  }
  // Destinations contacted within the timeout are live; the automatic sweep (at most once per
  // timeout) lets at most one more timeout's worth of expired entries linger.
  const liveBound = (timeoutMs / tickMs + 1) * perTickCount;
  assert.ok(maxSize <= 2 * liveBound, `table grew to ${maxSize}`);
  fabric.sweep();
  assert.ok(nat.size <= liveBound, `after sweep: ${nat.size}`);
  assert.equal(fabric.mappingsOf(nat).length, nat.size);
  clock.advance(timeoutMs + 1);
  assert.equal(fabric.stats().mappings, 0);
});

seededTest("port-restricted NATs let two transports talk only after both sides opened", () => {
  const clock = new VirtualClock();
  const net = new MemNetwork(clock, { latencyMs: 5 });
  const fabric = new NatFabric(clock, { seed: SEED });
  net.route = fabric.route;
  const natA = fabric.addNat("198.18.100.1", "port-restricted");
  const natB = fabric.addNat("198.18.100.2", "port-restricted");
  const aEp = endpoint("198.18.0.1", 5800);
  const bEp = endpoint("198.18.0.2", 5800);
  fabric.attach(aEp.host, natA);
  fabric.attach(bEp.host, natB);
  const a = net.bind(aEp);
  const b = net.bind(bEp);
  const server = net.bind(endpoint("198.18.1.1", 5800));
  try {
    // Both register with a public rendezvous server, which learns their public endpoints.
    const seen = new Map<string, Endpoint>();
    server.onReceive((data, from) => seen.set(new TextDecoder().decode(data), from));
    const gotA: [string, Endpoint][] = [];
    const gotB: [string, Endpoint][] = [];
    a.onReceive((data, from) => gotA.push([new TextDecoder().decode(data), from]));
    b.onReceive((data, from) => gotB.push([new TextDecoder().decode(data), from]));
    const text = (s: string) => new TextEncoder().encode(s);
    a.send(server.localEndpoint, text("a"));
    b.send(server.localEndpoint, text("b"));
    clock.runUntilIdle();
    const aPub = seen.get("a")!;
    const bPub = seen.get("b")!;
    assert.equal(aPub.host, natA.publicHost);
    assert.equal(bPub.host, natB.publicHost);

    a.send(bPub, text("early"));
    clock.runUntilIdle();
    assert.deepEqual(gotB, []);
    assert.equal(fabric.stats().droppedByFilter, 1);

    assert.deepEqual(fabric.primeMapping(bEp, aPub), bPub);
    a.send(bPub, text("hello"));
    clock.runUntilIdle();
    assert.equal(gotB.length, 1);
    assert.equal(gotB[0]![0], "hello");
    assert.ok(sameEndpoint(gotB[0]![1], aPub));

    b.send(gotB[0]![1], text("reply"));
    clock.runUntilIdle();
    assert.equal(gotA.length, 1);
    assert.equal(gotA[0]![0], "reply");
    assert.ok(sameEndpoint(gotA[0]![1], bPub));
    assert.equal(net.stats.blocked, 1);
  } finally {
    a.close();
    b.close();
    server.close();
    net.close();
  }
});

seededTest("a NAT with every public port live drops new flows until mappings expire", () => {
  const { clock, fabric, nat } = setup("symmetric", { mappingTimeoutMs: 1_000 });
  const portCount = 65535 - 1024 + 1;
  const dest = (n: number): Endpoint => ({
    host: `198.19.${(n >> 8) & 255}.${n & 255}`,
    port: 5800,
    family: 4,
  });
  const ports = new Set<number>();
  for (let n = 0; n < portCount; n++) ports.add(fabric.primeMapping(H, dest(n))!.port);
  assert.equal(ports.size, portCount);
  assert.equal(nat.size, portCount);
  assert.equal(fabric.route(H, dest(portCount)), false);
  assert.equal(fabric.primeMapping(H, dest(portCount + 1)), null);
  assert.equal(fabric.stats().droppedNoPort, 1);
  clock.advance(1_001);
  assert.equal(outbound(fabric, dest(portCount)).host, NAT_IP);
  assert.equal(fabric.stats().mappings, 1);
});
