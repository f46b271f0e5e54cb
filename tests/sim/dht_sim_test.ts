/**
 * The DHT on real overlay nodes in virtual time (bench/sim's `SimWorld` with
 * `leasedNodeFactory`): records, replicas and hand-off under crashes, expiry, DHCP claims and
 * bad input. `SEED=n` replays a run; the seed is printed on failure.
 */
import assert from "node:assert/strict";
import { loadFastAead } from "../../ffi/fast_aead.ts";
import { loadFastX25519 } from "../../ffi/sodium_x25519.ts";
import { type LeasedNode, leasedNodeFactory } from "../../bench/sim/leased_node_factory.ts";
import { type SimHost, SimWorld } from "../../bench/sim/world.ts";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { xeddsaSign } from "../../lib/crypto/xeddsa.ts";
import { isAssignable, leaseKey, type Subnet } from "../../lib/dhcp/subnet.ts";
import type { OutcomeHandler } from "../../lib/dht/dht_client.ts";
import {
  decodeDhtMessage,
  DHT_MESSAGE_HEADER_BYTES,
  type DhtMessage,
  DhtMessageType,
  DhtOp,
  DhtStatus,
  encodeDhtMessage,
} from "../../lib/dht/dht_message.ts";
import { dhtKeyPosition, type DhtRecord, signRecord } from "../../lib/dht/dht_record.ts";
import type { Outcome } from "../../lib/dht/quorum.ts";
import { nearestTo } from "../../lib/dht/replica_set.ts";
import { OverlayKind } from "../../lib/overlay/overlay_message.ts";
import { ipv4ToNumber } from "../../lib/vnet/ipv4.ts";

const SEED = Number(Deno.env.get("SEED") ?? 1);
const NETWORK = "simnet";
/** 100.64.0.0/26: 62 hosts, 61 assignable (base+1 is the reserved gateway). */
const SUBNET: Subnet = { base: ipv4ToNumber("100.64.0.0"), prefix: 26 };
const JOIN_INTERVAL_MS = 10;
const MAX_CONVERGE_MS = 120_000;
/** One sync period (5 s + up to 1 s jitter) plus failure detection (15 s) with margin. */
const HEAL_MS = 30_000;
const enc = new TextEncoder();
const dec = new TextDecoder();
const aead = loadFastAead();
const x25519 = loadFastX25519();

interface Sim {
  world: SimWorld;
  nodes: Map<bigint, LeasedNode>;
  /** The stack of a live host. */
  at(host: SimHost): LeasedNode;
}

/**
 * Builds a world of `n` nodes (one joining every 10 ms from a random live node), waits for a
 * consistent ring, runs `body`, checks that no node code threw, and always closes the world.
 */
function withSim(n: number, mayClaim: () => boolean, body: (sim: Sim) => void): void {
  const { factory, nodes } = leasedNodeFactory({ network: NETWORK, subnet: SUBNET, mayClaim });
  const world = new SimWorld({ seed: SEED, factory, aead, x25519, latencyMs: 20, jitterMs: 10 });
  const sim: Sim = { world, nodes, at: (h) => nodes.get(h.address)! };
  try {
    world.spawn([]);
    for (let k = 1; k < n; k++) {
      world.clock.setTimer(k * JOIN_INTERVAL_MS, () => {
        const boot = world.randomLive();
        world.spawn(boot ? [boot.endpoint] : []);
      });
    }
    world.runUntil(n * JOIN_INTERVAL_MS);
    const deadline = world.clock.now() + MAX_CONVERGE_MS;
    while (world.consistency().fraction < 1 || world.consistency(true).fraction < 1) {
      assert.ok(world.clock.now() < deadline, "ring did not converge");
      world.runUntil(world.clock.now() + 1_000);
    }
    assert.equal(world.live.length, n);
    body(sim);
    assert.deepEqual(world.errors, [], "node code threw");
  } catch (e) {
    console.error(`SEED=${SEED} t=${world.clock.now()} ms`);
    throw e;
  } finally {
    world.close();
  }
}

/** Starts an operation and runs virtual time until its outcome (the client gives up in 7.5 s). */
function run(world: SimWorld, start: (done: OutcomeHandler) => void): Outcome {
  const box: { outcome: Outcome | null } = { outcome: null };
  start((o) => box.outcome = o);
  world.runUntil(world.clock.now() + 15_000, () => box.outcome !== null, 10);
  assert.ok(box.outcome !== null, "the operation never ended");
  return box.outcome;
}

/** Runs virtual time for `ms`. */
function wait(world: SimWorld, ms: number): void {
  world.runUntil(world.clock.now() + ms);
}

function ownerOf(sim: Sim, host: SimHost): string {
  return sim.at(host).overlay.selfInfo().publicKey.toHex();
}

/** "owner hex=value" of each record, sorted. */
function describe(o: Outcome): string[] {
  return o.records.map((h) => `${h.record.owner.toHex()}=${dec.decode(h.record.value)}`).sort();
}

/** Live hosts whose store holds a live record of `key`. */
function holders(sim: Sim, key: Uint8Array): SimHost[] {
  const now = sim.world.clock.now();
  return sim.world.live.filter((h) => sim.at(h).dht.store.get(key, now).length > 0);
}

/** The `count` live hosts nearest to the key's ring position. */
function nearestHosts(sim: Sim, key: Uint8Array, count = 5): SimHost[] {
  const addresses = sim.world.live.map((h) => h.address);
  return nearestTo(dhtKeyPosition(key), addresses, count).map((a) => sim.world.liveByAddress(a)!);
}

/** `count` distinct live hosts, picked at random. */
function pick(sim: Sim, count: number): SimHost[] {
  const out: SimHost[] = [];
  while (out.length < count) {
    const h = sim.world.randomLive((c) => !out.includes(c))!;
    if (!out.includes(h)) out.push(h);
  }
  return out;
}

const NO_CLAIMS = () => false;

Deno.test("dht sim: create is first-writer-wins; renew and delete by the owner; then another may create", () => {
  withSim(48, NO_CLAIMS, (sim) => {
    const { world } = sim;
    const [a, b, c] = pick(sim, 3) as [SimHost, SimHost, SimHost];
    const key = enc.encode("name/alpha");
    const draft = (who: string) => ({ key, value: enc.encode(who), ttlSeconds: 300 });

    assert.equal(run(world, (d) => sim.at(a).dht.create(draft("a1"), d)).status, DhtStatus.Ok);
    const got = run(world, (d) => sim.at(c).dht.get(key, d));
    assert.equal(got.status, DhtStatus.Ok);
    assert.deepEqual(describe(got), [`${ownerOf(sim, a)}=a1`]);

    const taken = run(world, (d) => sim.at(b).dht.create(draft("b1"), d));
    assert.equal(taken.status, DhtStatus.Taken);
    assert.deepEqual(describe(taken), [`${ownerOf(sim, a)}=a1`], "taken carries a's record");

    assert.equal(run(world, (d) => sim.at(a).dht.renew(draft("a2"), d)).status, DhtStatus.Ok);
    assert.deepEqual(describe(run(world, (d) => sim.at(b).dht.get(key, d))), [
      `${ownerOf(sim, a)}=a2`,
    ]);
    assert.equal(
      run(world, (d) => sim.at(b).dht.renew(draft("b2"), d)).status,
      DhtStatus.Taken,
      "only the owner renews",
    );

    assert.equal(run(world, (d) => sim.at(a).dht.delete(key, 60, d)).status, DhtStatus.Ok);
    const gone = run(world, (d) => sim.at(c).dht.get(key, d));
    assert.equal(gone.status, DhtStatus.NotFound);
    assert.deepEqual(gone.records, []);

    assert.equal(run(world, (d) => sim.at(b).dht.create(draft("b3"), d)).status, DhtStatus.Ok);
    assert.deepEqual(describe(run(world, (d) => sim.at(c).dht.get(key, d))), [
      `${ownerOf(sim, b)}=b3`,
    ]);
  });
});

Deno.test("dht sim: puts by two owners of one key are both returned, newest per owner", () => {
  withSim(48, NO_CLAIMS, (sim) => {
    const { world } = sim;
    const [a, b, c] = pick(sim, 3) as [SimHost, SimHost, SimHost];
    const key = enc.encode("svc/shared");
    const put = (h: SimHost, value: string) =>
      run(world, (d) => sim.at(h).dht.put({ key, value: enc.encode(value), ttlSeconds: 300 }, d));
    assert.equal(put(a, "a1").status, DhtStatus.Ok);
    assert.equal(put(b, "b1").status, DhtStatus.Ok);
    const both = run(world, (d) => sim.at(c).dht.get(key, d));
    assert.equal(both.status, DhtStatus.Ok);
    assert.deepEqual(describe(both), [`${ownerOf(sim, a)}=a1`, `${ownerOf(sim, b)}=b1`].sort());
    assert.equal(put(a, "a2").status, DhtStatus.Ok);
    assert.deepEqual(
      describe(run(world, (d) => sim.at(c).dht.get(key, d))),
      [`${ownerOf(sim, a)}=a2`, `${ownerOf(sim, b)}=b1`].sort(),
    );
  });
});

Deno.test("dht sim: a record survives crashes of its replicas, handed off to their successors", () => {
  withSim(48, NO_CLAIMS, (sim) => {
    const { world } = sim;
    const key = enc.encode("svc/durable");
    const nearest = nearestHosts(sim, key);
    const writer = world.randomLive((h) => !nearest.includes(h))!;
    const want = [`${ownerOf(sim, writer)}=v`];
    const draft = { key, value: enc.encode("v"), ttlSeconds: 3_600 };
    assert.equal(run(world, (d) => sim.at(writer).dht.create(draft, d)).status, DhtStatus.Ok);
    wait(world, 7_000); // one sync round: every replica the coordinator did not ask is handed it
    const original = holders(sim, key);
    assert.ok(nearest.every((h) => original.includes(h)), "the 5 nearest hold the record");

    // Holders are checked before any read: a get repairs the replicas it asks, and this test
    // is about the periodic hand-off.
    const nearestHolding = () =>
      nearestHosts(sim, key).filter((h) => holders(sim, key).includes(h));
    for (const h of nearest.slice(0, 2)) world.end(h, "crash");
    wait(world, HEAL_MS);
    const holding = nearestHolding().length;
    assert.ok(holding >= 4, `${holding} of the 5 nearest hold it after hand-off`);
    const reader = () => world.randomLive((h) => h !== writer)!;
    const got = run(world, (d) => sim.at(reader()).dht.get(key, d));
    assert.equal(got.status, DhtStatus.Ok);
    assert.deepEqual(describe(got), want);

    for (const h of original.filter((o) => o.endedAtMs === null)) {
      world.end(h, "crash");
      wait(world, HEAL_MS);
      const n = nearestHolding().length;
      assert.ok(n >= 4, `${n} of the 5 nearest hold it after crashing host#${h.index}`);
    }
    assert.ok(original.every((h) => h.endedAtMs !== null), "every original holder crashed");
    const after = run(world, (d) => sim.at(reader()).dht.get(key, d));
    assert.equal(after.status, DhtStatus.Ok);
    assert.deepEqual(describe(after), want);
  });
});

Deno.test("dht sim: a record expires after its ttl and every store sweeps it", () => {
  withSim(48, NO_CLAIMS, (sim) => {
    const { world } = sim;
    const [a, b] = pick(sim, 2) as [SimHost, SimHost];
    const key = enc.encode("svc/ephemeral");
    const t0 = world.clock.now();
    const draft = { key, value: enc.encode("soon gone"), ttlSeconds: 5 };
    assert.equal(run(world, (d) => sim.at(a).dht.create(draft, d)).status, DhtStatus.Ok);
    assert.equal(run(world, (d) => sim.at(b).dht.get(key, d)).status, DhtStatus.Ok);
    assert.ok(holders(sim, key).length >= 3, "held by a majority before it expires");

    // Every node runs a sync round (which sweeps) at most 6 s apart; no read in between (a
    // read drops expired entries at the replicas it asks).
    world.runUntil(t0 + 5_000 + 6_000 + 1_000);
    const left = world.live.filter((h) => sim.at(h).dht.store.size > 0);
    assert.deepEqual(left.map((h) => h.index), [], "stores still holding entries");
    assert.equal(run(world, (d) => sim.at(b).dht.get(key, d)).status, DhtStatus.NotFound);
  });
});

Deno.test("dht sim: 40 nodes claiming in a /26 at the same moment get 40 distinct assignable addresses", () => {
  let go = false;
  withSim(40, () => go, (sim) => {
    const { world } = sim;
    const t0 = world.clock.now();
    go = true;
    const bound = () => world.live.every((h) => sim.at(h).lease.state === "bound");
    world.runUntil(t0 + 120_000, bound, 100);
    const states = world.live.map((h) => sim.at(h).lease.state);
    assert.ok(bound(), `lease states: ${states.join(",")}`);
    const ips = world.live.map((h) => sim.at(h).lease.lease!.ip);
    assert.equal(new Set(ips).size, ips.length, "no two nodes hold the same address");
    for (const ip of ips) assert.ok(isAssignable(SUBNET, ip), `assignable: ${ip}`);
    const lastBound = Math.max(...world.live.map((h) => sim.at(h).lease.boundAt));
    const collisions = world.live.reduce((n, h) => n + sim.at(h).lease.collisions, 0);
    console.log(`dhcp: 40 bound in ${((lastBound - t0) / 1000).toFixed(1)} s, ${collisions} taken`);

    // The DHT agrees: each lease key holds exactly the record of the node bound to it.
    for (const h of world.live) {
      const key = leaseKey(NETWORK, sim.at(h).lease.lease!.ip);
      const got = run(world, (d) => sim.at(world.randomLive()!).dht.get(key, d));
      assert.equal(got.status, DhtStatus.Ok);
      assert.deepEqual(got.records.map((r) => r.record.owner.toHex()), [ownerOf(sim, h)]);
    }
  });
});

/**
 * Random, header-shaped and mutated-valid payloads (some decode, most do not), and every type
 * with keys of 0, 128, 129 and 255 bytes (over 128 must be dropped, not answered).
 */
function junk(rng: SeededRng, count: number): Uint8Array[] {
  const shaped = (type: number, op: number, status: number, keyLen: number, extra: number) => {
    const b = rng.fill(new Uint8Array(DHT_MESSAGE_HEADER_BYTES + keyLen + 1 + extra));
    b.set([type], 0);
    b.set([op, status, keyLen], 5);
    b[DHT_MESSAGE_HEADER_BYTES + keyLen] = 0; // no records
    return b;
  };
  const out: Uint8Array[] = [];
  for (const type of Object.values(DhtMessageType)) {
    for (const keyLen of [0, 128, 129, 255]) out.push(shaped(type, DhtOp.Get, 0, keyLen, 0));
  }
  const valid = encodeDhtMessage({
    type: DhtMessageType.Request,
    requestId: 7,
    op: DhtOp.Get,
    status: DhtStatus.Ok,
    key: enc.encode("svc/junk"),
    records: [],
  });
  for (let i = 0; i < count; i++) {
    const kind = i % 3;
    if (kind === 0) out.push(rng.fill(new Uint8Array(rng.int(1_100))));
    else if (kind === 1) {
      const extra = rng.int(2) === 0 ? 0 : rng.int(300);
      out.push(shaped(1 + rng.int(5), 1 + rng.int(5), rng.int(6), rng.int(256), extra));
    } else {
      const b = valid.slice();
      b[rng.int(b.length)] = rng.uint32() & 0xff;
      out.push(b);
    }
  }
  return out;
}

Deno.test("dht sim: random bytes as DHT messages never throw and are counted as dropped", () => {
  withSim(40, NO_CLAIMS, (sim) => {
    const { world } = sim;
    const rng = new SeededRng(SEED);
    const [sender, target] = pick(sim, 2) as [SimHost, SimHost];
    const payloads = junk(rng, 600);
    const undecodable = payloads.filter((p) => decodeDhtMessage(p) === null).length;
    assert.ok(undecodable > 0 && undecodable < payloads.length, `${undecodable} undecodable`);
    const droppedBefore = sim.at(target).dht.stats.dropped;
    for (const p of payloads) {
      sim.at(sender).overlay.sendKind(OverlayKind.Dht, target.address, "exact", p);
    }
    wait(world, 3_000);
    assert.equal(sim.at(target).dht.stats.dropped - droppedBefore, undecodable);
    // Also at whichever node is nearest to random positions (the coordinator path).
    for (const p of payloads) {
      const dst = BigInt("0x" + rng.fill(new Uint8Array(20)).toHex());
      sim.at(sender).overlay.sendKind(OverlayKind.Dht, dst, "nearest", p);
    }
    wait(world, 10_000);
    assert.deepEqual(world.errors, [], "node code threw");
    // The DHT still works.
    const key = enc.encode("svc/after-junk");
    const draft = { key, value: enc.encode("fine"), ttlSeconds: 60 };
    assert.equal(run(world, (d) => sim.at(sender).dht.create(draft, d)).status, DhtStatus.Ok);
    assert.equal(run(world, (d) => sim.at(target).dht.get(key, d)).status, DhtStatus.Ok);
  });
});

Deno.test("dht sim: a record with a flipped bit is Rejected by every replica and the coordinator", () => {
  withSim(40, NO_CLAIMS, (sim) => {
    const { world } = sim;
    const rng = new SeededRng(SEED);
    const privateKey = rng.fill(new Uint8Array(32));
    const owner = x25519.publicKeyOf(privateKey);
    const key = enc.encode("svc/signed");
    const genuine = signRecord({
      key,
      value: enc.encode("genuine"),
      owner,
      ttlSeconds: 300,
      seq: 1,
      deleted: false,
    }, (m) => xeddsaSign(privateKey, m, rng.fill(new Uint8Array(64))));
    const flipValue: DhtRecord = { ...genuine, value: enc.encode("genuinf") };
    const flipSignature: DhtRecord = { ...genuine, signature: genuine.signature.slice() };
    flipSignature.signature[5]! ^= 0x10;

    // A raw client: one node outside the key's replicas whose DHT handler we take over.
    const replicas = nearestHosts(sim, key);
    const raw = world.randomLive((h) => !replicas.includes(h))!;
    assert.ok(!replicas.includes(raw));
    const replies = new Map<number, DhtMessage>();
    sim.at(raw).overlay.onKind(OverlayKind.Dht, (d) => {
      const m = decodeDhtMessage(d.payload);
      if (m) replies.set(m.requestId, m);
    });
    let nextId = 1;
    const send = (dst: bigint, mode: "exact" | "nearest", m: Omit<DhtMessage, "requestId">) => {
      const requestId = nextId++;
      sim.at(raw).overlay.sendKind(
        OverlayKind.Dht,
        dst,
        mode,
        encodeDhtMessage({ ...m, requestId }),
      );
      return requestId;
    };
    const message = (type: DhtMessage["type"], op: DhtMessage["op"], record: DhtRecord) => ({
      type,
      op,
      status: DhtStatus.Ok,
      key,
      records: [{ record, remainingMs: 300_000 }],
    });

    const ids = replicas.flatMap((r) => [
      send(r.address, "exact", message(DhtMessageType.ReplicaRequest, DhtOp.Put, flipValue)),
      send(r.address, "exact", message(DhtMessageType.ReplicaRequest, DhtOp.Create, flipSignature)),
    ]);
    const viaCoordinator = [
      send(dhtKeyPosition(key), "nearest", message(DhtMessageType.Request, DhtOp.Put, flipValue)),
      send(
        dhtKeyPosition(key),
        "nearest",
        message(DhtMessageType.Request, DhtOp.Create, flipSignature),
      ),
    ];
    wait(world, 5_000);
    for (const id of ids) {
      assert.equal(replies.get(id)?.type, DhtMessageType.ReplicaReply, `reply ${id}`);
      assert.equal(replies.get(id)?.status, DhtStatus.Rejected, `replica reply ${id}`);
    }
    for (const id of viaCoordinator) {
      assert.equal(replies.get(id)?.type, DhtMessageType.Reply, `reply ${id}`);
      assert.equal(replies.get(id)?.status, DhtStatus.Rejected, `coordinator reply ${id}`);
    }
    assert.deepEqual(holders(sim, key), [], "nobody stored a tampered record");

    // The untampered record is accepted on the same path, and read back intact.
    const ok = send(
      dhtKeyPosition(key),
      "nearest",
      message(DhtMessageType.Request, DhtOp.Put, genuine),
    );
    wait(world, 5_000);
    assert.equal(replies.get(ok)?.status, DhtStatus.Ok);
    const got = run(world, (d) => sim.at(replicas[0]!).dht.get(key, d));
    assert.deepEqual(describe(got), [`${owner.toHex()}=genuine`]);
  });
});
