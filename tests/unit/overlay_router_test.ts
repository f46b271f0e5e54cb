import assert from "node:assert/strict";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import type { OutcomeHandler } from "../../lib/dht/dht_client.ts";
import { DhtStatus, type HeldRecord } from "../../lib/dht/dht_message.ts";
import type { Outcome } from "../../lib/dht/quorum.ts";
import { leaseKey, parseSubnet } from "../../lib/dhcp/subnet.ts";
import type { LinkLayer } from "../../lib/link/link_layer.ts";
import { Peer } from "../../lib/link/peer.ts";
import { addressOfKey, type OverlayAddress } from "../../lib/overlay/address.ts";
import { Connection } from "../../lib/overlay/connection.ts";
import { OverlayKind } from "../../lib/overlay/overlay_message.ts";
import type { Delivery } from "../../lib/overlay/overlay_node.ts";
import { MemTun } from "../../lib/tun/mem_tun.ts";
import { newTunStats, type PacketHandler, type Tun } from "../../lib/tun/tun.ts";
import { IpResolver, type ResolverDht } from "../../lib/vnet/ip_resolver.ts";
import { ipv4ToNumber } from "../../lib/vnet/ipv4.ts";
import { OverlayRouter, type RouterOverlay } from "../../lib/vnet/overlay_router.ts";
import { ResolverCache } from "../../lib/vnet/resolver_cache.ts";

const NETWORK = "ipop";
const SUBNET = parseSubnet("100.64.0.0/16");
const OWN_IP = ipv4ToNumber("100.64.0.10");
const IP_P = ipv4ToNumber("100.64.0.20");
const IP_Q = ipv4ToNumber("100.64.0.30");
const IP_NOBODY = ipv4ToNumber("100.64.0.40");
const KEY_P = new Uint8Array(32).fill(0x11);
const KEY_Q = new Uint8Array(32).fill(0x22);
const ADDR_P = addressOfKey(KEY_P);
const ADDR_Q = addressOfKey(KEY_Q);

/** A 20-byte IPv4 header (UDP, TTL 64, correct total length) followed by `payloadBytes` bytes. */
function ipv4Packet(src: number, dst: number, payloadBytes = 8): Uint8Array {
  const p = new Uint8Array(20 + payloadBytes);
  const view = new DataView(p.buffer);
  p[0] = 0x45;
  view.setUint16(2, p.length);
  p[8] = 64;
  p[9] = 17;
  view.setUint32(12, src);
  view.setUint32(16, dst);
  for (let i = 20; i < p.length; i++) p[i] = i & 0xff;
  return p;
}

function held(ownerKey: Uint8Array, ip: number, remainingMs = 60_000): HeldRecord {
  return {
    record: {
      key: leaseKey(NETWORK, ip),
      value: new Uint8Array(0),
      owner: ownerKey,
      ttlSeconds: 120,
      seq: 1,
      deleted: false,
      signature: new Uint8Array(64),
    },
    remainingMs,
  };
}

/** A DHT answering gets from a table of owners; answers wait until `flush()`. */
class TableDht implements ResolverDht {
  readonly owners = new Map<number, Uint8Array>();
  readonly gets: Uint8Array[] = [];
  status: DhtStatus = DhtStatus.Ok;
  #queue: (() => void)[] = [];

  get(key: Uint8Array, done: OutcomeHandler): void {
    this.gets.push(key);
    const ip = [...this.owners.keys()].find((i) => equalBytes(leaseKey(NETWORK, i), key));
    const owner = ip === undefined ? undefined : this.owners.get(ip);
    let outcome: Outcome;
    if (this.status !== DhtStatus.Ok) outcome = { status: this.status, records: [] };
    else if (owner === undefined) outcome = { status: DhtStatus.NotFound, records: [] };
    else outcome = { status: DhtStatus.Ok, records: [held(owner, ip!)] };
    this.#queue.push(() => done(outcome));
  }

  /** Delivers every queued answer. */
  flush(): void {
    for (const answer of this.#queue.splice(0)) answer();
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The slice of an overlay node the router uses, recording what it is asked to send. */
class FakeOverlay implements RouterOverlay {
  readonly conns = new Map<string, Connection>();
  readonly upByAddress = new Map<OverlayAddress, Connection>();
  readonly linkSent: { peer: Peer; packet: Uint8Array }[] = [];
  readonly routed: { kind: number; dst: OverlayAddress; mode: string; body: Uint8Array }[] = [];
  linkHandler: (peer: Peer, packet: Uint8Array) => void = () => {};
  ipHandler: (d: Delivery) => void = () => {};
  readonly links: LinkLayer;

  constructor() {
    const links = {
      onPacket: (h: (peer: Peer, packet: Uint8Array) => void) => void (this.linkHandler = h),
      sendPacket: (peer: Peer, packet: Uint8Array) =>
        void this.linkSent.push({ peer, packet: packet.slice() }),
    };
    this.links = links as unknown as LinkLayer;
  }

  onKind(_kind: typeof OverlayKind.Ip, handler: (d: Delivery) => void): void {
    this.ipHandler = handler;
  }

  sendKind(
    kind: typeof OverlayKind.Ip,
    dst: OverlayAddress,
    mode: "exact" | "nearest",
    body: Uint8Array,
  ): void {
    this.routed.push({ kind, dst, mode, body: body.slice() });
  }

  /** Adds a link to the node with `key`; `up` also makes it the direct route to it. */
  connect(key: Uint8Array, up: boolean): Peer {
    const peer = new Peer(key, key.toBase64(), new Uint8Array(32), null);
    const conn = new Connection(peer, addressOfKey(key), 0);
    conn.up = up;
    this.conns.set(peer.keyText, conn);
    if (up) this.upByAddress.set(conn.address, conn);
    return peer;
  }
}

/** A Tun that reads every packet into one reused buffer, as the real device does. */
class ReusingTun implements Tun {
  readonly name = "reuse0";
  readonly mtu = 1400;
  readonly stats = newTunStats();
  readonly buffer = new Uint8Array(1400);
  #handler: PacketHandler = () => {};

  onPacket(handler: PacketHandler): void {
    this.#handler = handler;
  }
  /** Copies `packet` into the shared buffer and hands the handler a view of it. */
  read(packet: Uint8Array): Uint8Array {
    this.buffer.set(packet);
    const view = this.buffer.subarray(0, packet.length);
    this.#handler(view);
    return view;
  }
  write(_packet: Uint8Array): void {}
  close(): void {}
}

function setup(tun: Tun = new MemTun()) {
  const clock = new VirtualClock();
  const dht = new TableDht();
  dht.owners.set(IP_P, KEY_P);
  dht.owners.set(IP_Q, KEY_Q);
  const resolver = new IpResolver(dht, new ResolverCache(), clock, NETWORK);
  const overlay = new FakeOverlay();
  const router = new OverlayRouter(tun, overlay, resolver, SUBNET);
  return { clock, dht, resolver, overlay, router };
}

Deno.test("OverlayRouter: a TUN packet to an owner with a direct link goes over that link", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  const peerP = overlay.connect(KEY_P, true);
  router.setOwnIp(OWN_IP);
  const packet = ipv4Packet(OWN_IP, IP_P);
  tun.inject(packet);
  assert.equal(overlay.linkSent.length, 0, "nothing is sent before the lookup answers");
  assert.equal(dht.gets.length, 1);
  dht.flush();
  assert.equal(overlay.linkSent.length, 1);
  assert.equal(overlay.linkSent[0]!.peer, peerP);
  assert.deepEqual(overlay.linkSent[0]!.packet, packet);
  // A second packet is resolved from the cache and sent at once.
  tun.inject(packet);
  assert.equal(overlay.linkSent.length, 2);
  assert.equal(dht.gets.length, 1);
  assert.equal(overlay.routed.length, 0);
  assert.equal(router.counters.direct, 2);
  assert.equal(router.counters.routed, 0);
});

Deno.test("OverlayRouter: a TUN packet to an owner without a direct link is routed exactly", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  overlay.connect(KEY_P, false); // a link that is not up is no direct route
  router.setOwnIp(OWN_IP);
  const packet = ipv4Packet(OWN_IP, IP_P, 100);
  tun.inject(packet);
  dht.flush();
  assert.equal(overlay.linkSent.length, 0);
  assert.equal(overlay.routed.length, 1);
  assert.deepEqual(overlay.routed[0], {
    kind: OverlayKind.Ip,
    dst: ADDR_P,
    mode: "exact",
    body: packet,
  });
  assert.equal(router.counters.routed, 1);
  assert.equal(router.counters.direct, 0);
});

Deno.test("OverlayRouter: nothing is sent or looked up before we hold a lease", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  overlay.connect(KEY_P, true);
  tun.inject(ipv4Packet(ipv4ToNumber("100.64.0.99"), IP_P));
  assert.equal(router.counters.noRoute, 1);
  router.setOwnIp(OWN_IP);
  router.setOwnIp(null); // the lease was lost
  tun.inject(ipv4Packet(OWN_IP, IP_P));
  dht.flush();
  assert.equal(router.counters.noRoute, 2);
  assert.equal(dht.gets.length, 0);
  assert.equal(overlay.linkSent.length + overlay.routed.length, 0);
});

Deno.test("OverlayRouter: destinations outside the subnet, our own address and non-IPv4 are noRoute", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  router.setOwnIp(OWN_IP);
  tun.inject(ipv4Packet(OWN_IP, ipv4ToNumber("100.65.0.20"))); // just past the /16
  tun.inject(ipv4Packet(OWN_IP, ipv4ToNumber("100.63.255.255"))); // just before it
  tun.inject(ipv4Packet(OWN_IP, OWN_IP));
  const ipv6 = new Uint8Array(40);
  ipv6[0] = 0x60;
  tun.inject(ipv6);
  dht.flush();
  assert.equal(router.counters.noRoute, 4);
  assert.equal(dht.gets.length, 0);
  assert.equal(overlay.linkSent.length + overlay.routed.length, 0);
});

Deno.test("OverlayRouter: a destination nobody owns, or a failed lookup, counts as unresolved", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  router.setOwnIp(OWN_IP);
  tun.inject(ipv4Packet(OWN_IP, IP_NOBODY));
  dht.flush();
  assert.equal(router.counters.unresolved, 1);
  tun.inject(ipv4Packet(OWN_IP, IP_NOBODY)); // negatively cached: no new lookup
  assert.equal(router.counters.unresolved, 2);
  assert.equal(dht.gets.length, 1);
  dht.status = DhtStatus.NoQuorum;
  tun.inject(ipv4Packet(OWN_IP, IP_P));
  dht.flush();
  assert.equal(router.counters.unresolved, 3);
  assert.equal(overlay.linkSent.length + overlay.routed.length, 0);
  assert.equal(router.counters.noRoute, 0);
});

Deno.test("OverlayRouter: a TUN packet waiting for its lookup is a copy of the reused buffer", () => {
  const tun = new ReusingTun();
  const { dht, overlay, router } = setup(tun);
  router.setOwnIp(OWN_IP);
  const packet = ipv4Packet(OWN_IP, IP_P, 32);
  const view = tun.read(packet);
  view.fill(0xee); // the device reads the next packet into the same buffer
  tun.read(ipv4Packet(OWN_IP, IP_Q, 32));
  dht.flush();
  assert.equal(overlay.routed.length, 2);
  const toP = overlay.routed.find((r) => r.dst === ADDR_P);
  assert.deepEqual(toP?.body, packet);
});

Deno.test("OverlayRouter: a packet from peer P whose source is P's lease reaches the TUN", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  const peerP = overlay.connect(KEY_P, true);
  router.setOwnIp(OWN_IP);
  const packet = ipv4Packet(IP_P, OWN_IP, 50);
  overlay.linkHandler(peerP, packet);
  assert.equal(tun.written.length, 0, "written only once the source is resolved");
  dht.flush();
  assert.deepEqual(tun.takeWritten(), [packet]);
  overlay.linkHandler(peerP, packet); // cached: written at once
  assert.deepEqual(tun.takeWritten(), [packet]);
  assert.equal(dht.gets.length, 1);
  assert.equal(router.counters.spoofed + router.counters.notForUs + router.counters.malformed, 0);
});

Deno.test("OverlayRouter: a received packet longer than its IPv4 total length is trimmed", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  const peerP = overlay.connect(KEY_P, true);
  router.setOwnIp(OWN_IP);
  const packet = ipv4Packet(IP_P, OWN_IP, 10);
  const padded = new Uint8Array(packet.length + 6).fill(0xaa);
  padded.set(packet);
  overlay.linkHandler(peerP, padded);
  dht.flush();
  assert.deepEqual(tun.takeWritten(), [packet]);
});

Deno.test("OverlayRouter: a received packet waiting for its lookup is a copy of the link buffer", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  const peerP = overlay.connect(KEY_P, true);
  router.setOwnIp(OWN_IP);
  const packet = ipv4Packet(IP_P, OWN_IP, 16);
  const buffer = packet.slice();
  overlay.linkHandler(peerP, buffer);
  buffer.fill(0); // the link layer reuses its buffer
  dht.flush();
  assert.deepEqual(tun.takeWritten(), [packet]);
});

Deno.test("OverlayRouter: a packet whose source belongs to another node or nobody is spoofed", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  const peerP = overlay.connect(KEY_P, true);
  router.setOwnIp(OWN_IP);
  overlay.linkHandler(peerP, ipv4Packet(IP_Q, OWN_IP)); // Q's address, sent by P
  overlay.linkHandler(peerP, ipv4Packet(IP_NOBODY, OWN_IP)); // an address nobody holds
  dht.flush();
  assert.equal(router.counters.spoofed, 2);
  overlay.linkHandler(peerP, ipv4Packet(IP_Q, OWN_IP)); // cached this time
  assert.equal(router.counters.spoofed, 3);
  // A peer with no overlay connection has no address to check against.
  const stranger = new Peer(KEY_Q, KEY_Q.toBase64(), new Uint8Array(32), null);
  overlay.linkHandler(stranger, ipv4Packet(IP_Q, OWN_IP));
  assert.equal(router.counters.spoofed, 4);
  assert.equal(tun.written.length, 0);
});

Deno.test("OverlayRouter: a received packet not for our lease is notForUs", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  const peerP = overlay.connect(KEY_P, true);
  overlay.linkHandler(peerP, ipv4Packet(IP_P, OWN_IP)); // no lease yet
  router.setOwnIp(OWN_IP);
  overlay.linkHandler(peerP, ipv4Packet(IP_P, IP_Q));
  dht.flush();
  assert.equal(router.counters.notForUs, 2);
  assert.equal(dht.gets.length, 0);
  assert.equal(tun.written.length, 0);
});

Deno.test("OverlayRouter: a truncated or garbage received packet is malformed", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  const peerP = overlay.connect(KEY_P, true);
  router.setOwnIp(OWN_IP);
  const whole = ipv4Packet(IP_P, OWN_IP, 20);
  overlay.linkHandler(peerP, whole.subarray(0, 19)); // shorter than a header
  overlay.linkHandler(peerP, whole.subarray(0, 30)); // shorter than its total length
  overlay.linkHandler(peerP, new Uint8Array(40).fill(0xff)); // version 15
  const badIhl = whole.slice();
  badIhl[0] = 0x44; // header length below 20 bytes
  overlay.linkHandler(peerP, badIhl);
  overlay.linkHandler(peerP, new Uint8Array(0));
  dht.flush();
  assert.equal(router.counters.malformed, 5);
  assert.equal(router.counters.notForUs + router.counters.spoofed, 0);
  assert.equal(dht.gets.length, 0);
  assert.equal(tun.written.length, 0);
});

Deno.test("OverlayRouter: overlay deliveries get the same checks as link packets", () => {
  const tun = new MemTun();
  const { dht, overlay, router } = setup(tun);
  router.setOwnIp(OWN_IP);
  const deliver = (src: OverlayAddress, payload: Uint8Array) =>
    overlay.ipHandler({ src, dst: ADDR_P, hops: 3, payload });
  const good = ipv4Packet(IP_P, OWN_IP, 12);
  deliver(ADDR_P, good);
  deliver(ADDR_Q, ipv4Packet(IP_P, OWN_IP)); // Q claims P's address
  deliver(ADDR_P, ipv4Packet(IP_NOBODY, OWN_IP));
  deliver(ADDR_P, ipv4Packet(IP_P, IP_Q));
  deliver(ADDR_P, good.subarray(0, 12));
  dht.flush();
  assert.deepEqual(tun.takeWritten(), [good]);
  assert.deepEqual(
    [router.counters.spoofed, router.counters.notForUs, router.counters.malformed],
    [2, 1, 1],
  );
});
