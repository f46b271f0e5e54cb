import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import type { OutcomeHandler } from "../../lib/dht/dht_client.ts";
import { DhtStatus, type HeldRecord } from "../../lib/dht/dht_message.ts";
import type { RecordDraft } from "../../lib/dht/dht_node.ts";
import type { Outcome } from "../../lib/dht/quorum.ts";
import {
  type Lease,
  LeaseClient,
  type LeaseClientOptions,
  type LeaseDht,
} from "../../lib/dhcp/lease_client.ts";
import { firstChoice, isAssignable, leaseKey, parseSubnet } from "../../lib/dhcp/subnet.ts";
import { ipv4ToNumber } from "../../lib/vnet/ipv4.ts";

const SEED = Deno.env.get("SEED") ?? "lease-client";
const NETWORK = "ipop";
const SUBNET = parseSubnet("100.64.0.0/16");
const OUR_KEY = new Uint8Array(32).fill(0x11);
const OTHER_KEY = new Uint8Array(32).fill(0x22);
const FIRST = firstChoice(SUBNET, OUR_KEY, NETWORK);
const LEASE_SECONDS = 120;
const RETRY_MS = 1_000;
const JOIN_POLL_MS = 250;

/** One call the client made, waiting for the test to answer it. */
interface DhtCall {
  op: "create" | "renew" | "delete";
  key: Uint8Array;
  ttlSeconds: number;
  done: OutcomeHandler;
}

/** A DHT that records every call; the test answers each one. */
class ScriptedDht implements LeaseDht {
  readonly calls: DhtCall[] = [];

  create(draft: RecordDraft, done: OutcomeHandler): void {
    this.calls.push({ op: "create", key: draft.key, ttlSeconds: draft.ttlSeconds, done });
  }
  renew(draft: RecordDraft, done: OutcomeHandler): void {
    this.calls.push({ op: "renew", key: draft.key, ttlSeconds: draft.ttlSeconds, done });
  }
  delete(key: Uint8Array, ttlSeconds: number, done: OutcomeHandler): void {
    this.calls.push({ op: "delete", key, ttlSeconds, done });
  }

  /** The newest call, which must be of kind `op`. */
  last(op: DhtCall["op"]): DhtCall {
    const call = this.calls.at(-1);
    assert.equal(call?.op, op, `expected the last DHT call to be a ${op}`);
    return call!;
  }

  count(op: DhtCall["op"]): number {
    return this.calls.filter((c) => c.op === op).length;
  }
}

function takenBy(ownerKey: Uint8Array, ip: number): Outcome {
  const held: HeldRecord = {
    record: {
      key: leaseKey(NETWORK, ip),
      value: new Uint8Array(0),
      owner: ownerKey,
      ttlSeconds: LEASE_SECONDS,
      seq: 7,
      deleted: false,
      signature: new Uint8Array(64),
    },
    remainingMs: 90_000,
  };
  return { status: DhtStatus.Taken, records: [held] };
}

const OK: Outcome = { status: DhtStatus.Ok, records: [] };
const NO_QUORUM: Outcome = { status: DhtStatus.NoQuorum, records: [] };

function ipOfKey(key: Uint8Array): number {
  const text = new TextDecoder().decode(key);
  assert.ok(text.startsWith(`ip/${NETWORK}/`), text);
  return ipv4ToNumber(text.slice(`ip/${NETWORK}/`.length));
}

function setup(extra: Partial<LeaseClientOptions> = {}) {
  const clock = new VirtualClock();
  const dht = new ScriptedDht();
  const leases: (Lease | null)[] = [];
  const refusals: { ip: number; ownerKey: Uint8Array | null }[] = [];
  const gate = { ready: true };
  const client = new LeaseClient({
    dht,
    clock,
    rng: new SeededRng(SEED),
    network: NETWORK,
    subnet: SUBNET,
    publicKey: OUR_KEY,
    ready: () => gate.ready,
    onLease: (lease) => void leases.push(lease && { ...lease }),
    onRefused: (ip, ownerKey) => void refusals.push({ ip, ownerKey }),
    tuning: { leaseSeconds: LEASE_SECONDS, retryMs: RETRY_MS, joinPollMs: JOIN_POLL_MS },
    ...extra,
  });
  return { clock, dht, leases, refusals, gate, client };
}

/** Starts the client and binds its first choice at time 0. */
function bound() {
  const s = setup();
  s.client.start();
  s.clock.advance(0);
  s.dht.last("create").done(OK);
  assert.equal(s.client.state, "bound");
  return s;
}

Deno.test("LeaseClient: does not claim before the node is ready", () => {
  const { clock, dht, gate, client } = setup();
  gate.ready = false;
  client.start();
  clock.advance(10_000);
  assert.equal(dht.calls.length, 0);
  assert.equal(client.state, "waiting");
  gate.ready = true;
  clock.advance(JOIN_POLL_MS);
  assert.equal(dht.count("create"), 1);
  assert.equal(client.state, "claiming");
  assert.equal(client.claimStartedAt, 10_000 + JOIN_POLL_MS);
  client.close();
});

Deno.test("LeaseClient: claims the key-derived first choice and reports the lease", () => {
  const { clock, dht, leases, client } = setup();
  client.start();
  assert.equal(dht.calls.length, 0, "start() claims from a timer, not inline");
  clock.advance(500);
  const create = dht.last("create");
  assert.deepEqual(create.key, leaseKey(NETWORK, FIRST));
  assert.equal(create.ttlSeconds, LEASE_SECONDS);
  assert.deepEqual(leases, []);
  clock.advance(40);
  create.done(OK);
  const expected = { ip: FIRST, prefix: 16, expiresAt: 540 + LEASE_SECONDS * 1000 };
  assert.deepEqual(leases, [expected]);
  assert.deepEqual(client.lease, expected);
  assert.equal(client.state, "bound");
  assert.equal(client.boundAt, 540);
  client.close();
});

Deno.test("LeaseClient: a taken address is deleted and another assignable address claimed", () => {
  const { clock, dht, leases, client } = setup();
  client.start();
  clock.advance(0);
  dht.last("create").done(takenBy(OTHER_KEY, FIRST));
  assert.equal(client.collisions, 1);
  const del = dht.last("delete");
  assert.deepEqual(del.key, leaseKey(NETWORK, FIRST), "our possible minority claim is taken back");
  clock.advance(0);
  const next = ipOfKey(dht.last("create").key);
  assert.notEqual(next, FIRST);
  assert.ok(isAssignable(SUBNET, next));
  dht.last("create").done(OK);
  assert.equal(leases[0]?.ip, next);
  assert.equal(client.state, "bound");
  client.close();
});

Deno.test("LeaseClient: after maxCandidates collisions it pauses before trying again", () => {
  const { clock, dht, client } = setup({
    tuning: { leaseSeconds: LEASE_SECONDS, retryMs: RETRY_MS, maxCandidates: 2 },
  });
  client.start();
  clock.advance(0);
  dht.last("create").done(takenBy(OTHER_KEY, FIRST));
  clock.advance(0);
  assert.equal(dht.count("create"), 2, "the first collision moves on at once");
  const second = ipOfKey(dht.last("create").key);
  dht.last("create").done(takenBy(OTHER_KEY, second));
  clock.advance(RETRY_MS * 10 - 1);
  assert.equal(dht.count("create"), 2, "the second one waits");
  clock.advance(1);
  assert.equal(dht.count("create"), 3);
  client.close();
});

Deno.test("LeaseClient: on NoQuorum it retries the same address after retryMs", () => {
  const { clock, dht, client } = setup();
  client.start();
  clock.advance(0);
  dht.last("create").done(NO_QUORUM);
  assert.equal(client.state, "claiming");
  clock.advance(RETRY_MS - 1);
  assert.equal(dht.count("create"), 1);
  clock.advance(1);
  assert.equal(dht.count("create"), 2);
  assert.deepEqual(dht.last("create").key, leaseKey(NETWORK, FIRST));
  assert.equal(dht.count("delete"), 0);
  assert.equal(client.collisions, 0);
  client.close();
});

Deno.test("LeaseClient: renews at half the lease time and keeps renewing", () => {
  const { clock, dht, leases, client } = bound();
  const half = LEASE_SECONDS * 500;
  clock.advance(half - 1);
  assert.equal(dht.count("renew"), 0);
  clock.advance(1);
  const renew = dht.last("renew");
  assert.deepEqual(renew.key, leaseKey(NETWORK, FIRST));
  assert.equal(renew.ttlSeconds, LEASE_SECONDS);
  renew.done(OK);
  assert.equal(client.lease?.expiresAt, half + LEASE_SECONDS * 1000, "the renewal extends it");
  assert.equal(leases.length, 1, "a renewal is not a new lease");
  clock.advance(half);
  assert.equal(dht.count("renew"), 2);
  client.close();
});

Deno.test("LeaseClient: a renewal without quorum keeps the lease and retries after retryMs", () => {
  const { clock, dht, leases, client } = bound();
  clock.advance(LEASE_SECONDS * 500);
  dht.last("renew").done(NO_QUORUM);
  assert.equal(client.state, "bound");
  assert.equal(client.lease?.ip, FIRST);
  assert.equal(leases.length, 1, "onLease(null) was not called");
  clock.advance(RETRY_MS - 1);
  assert.equal(dht.count("renew"), 1);
  clock.advance(1);
  assert.equal(dht.count("renew"), 2);
  assert.deepEqual(dht.last("renew").key, leaseKey(NETWORK, FIRST));
  client.close();
});

Deno.test("LeaseClient: a renewal answered Taken loses the lease and claims anew", () => {
  const { clock, dht, leases, client } = bound();
  clock.advance(LEASE_SECONDS * 500);
  dht.last("renew").done(takenBy(OTHER_KEY, FIRST));
  assert.equal(leases.length, 2);
  assert.equal(leases[1], null);
  assert.equal(client.lease, null);
  assert.equal(client.state, "claiming");
  const create = dht.last("create");
  const next = ipOfKey(create.key);
  assert.notEqual(next, FIRST);
  assert.ok(isAssignable(SUBNET, next));
  create.done(OK);
  assert.equal(leases[2]?.ip, next);
  client.close();
});

Deno.test("LeaseClient: a lease won alone is renewed as soon as others are linked", () => {
  const company = { alone: true };
  const { clock, dht, leases, gate, client } = setup({ alone: () => company.alone });
  client.start();
  clock.advance(0);
  dht.last("create").done(OK);
  assert.equal(client.state, "bound");
  clock.advance(10_000);
  assert.equal(dht.count("renew"), 0, "alone: nothing to confirm yet");
  company.alone = false;
  gate.ready = false; // linked, but not settled in the ring yet
  clock.advance(2_000);
  assert.equal(dht.count("renew"), 0, "waits until the node is ready again");
  gate.ready = true;
  clock.advance(JOIN_POLL_MS);
  assert.equal(dht.count("renew"), 1, "renewed at once, long before half the lease time");
  // Another node claimed the address meanwhile at the replicas that should hold it.
  dht.last("renew").done(takenBy(OTHER_KEY, FIRST));
  assert.equal(leases.at(-1), null, "the lease won alone is given up");
  assert.notEqual(ipOfKey(dht.last("create").key), FIRST);
  client.close();
});

Deno.test("LeaseClient: a lease won alone still renews at half the lease time if nobody comes", () => {
  const { clock, dht, client } = setup({ alone: () => true });
  client.start();
  clock.advance(0);
  dht.last("create").done(OK);
  clock.advance(LEASE_SECONDS * 500 - JOIN_POLL_MS);
  assert.equal(dht.count("renew"), 0);
  clock.advance(JOIN_POLL_MS);
  assert.equal(dht.count("renew"), 1);
  client.close();
});

Deno.test("LeaseClient: a static address held by another node is refused with its owner's key", () => {
  const staticIp = ipv4ToNumber("100.64.7.7");
  const { clock, dht, leases, refusals, client } = setup({ staticIp });
  client.start();
  clock.advance(0);
  const create = dht.last("create");
  assert.deepEqual(create.key, leaseKey(NETWORK, staticIp), "the static address, not firstChoice");
  create.done(takenBy(OTHER_KEY, staticIp));
  assert.equal(client.state, "refused");
  assert.deepEqual(refusals, [{ ip: staticIp, ownerKey: OTHER_KEY }]);
  assert.deepEqual(dht.last("delete").key, leaseKey(NETWORK, staticIp));
  clock.advance(10 * LEASE_SECONDS * 1000);
  assert.equal(dht.count("create"), 1, "no other address is tried");
  assert.deepEqual(leases, []);
  assert.equal(clock.pending, 0);
  client.close();
});

Deno.test("LeaseClient: release deletes the key and calls done once the DHT answered", () => {
  const { clock, dht, client } = bound();
  let released = 0;
  client.release(() => released++);
  const del = dht.last("delete");
  assert.deepEqual(del.key, leaseKey(NETWORK, FIRST));
  assert.equal(del.ttlSeconds, LEASE_SECONDS);
  assert.equal(released, 0);
  assert.equal(client.state, "released");
  assert.equal(client.lease, null);
  del.done(NO_QUORUM);
  assert.equal(released, 1, "done also when the DHT gave up");
  assert.equal(clock.pending, 0, "the renewal timer is gone");
  clock.advance(LEASE_SECONDS * 1000);
  assert.equal(dht.calls.length, 2);
});

Deno.test("LeaseClient: release without a lease calls done at once and sends nothing", () => {
  const { clock, dht, client } = setup();
  client.start();
  let released = 0;
  client.release(() => released++);
  assert.equal(released, 1);
  assert.equal(client.state, "released");
  assert.equal(dht.calls.length, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("LeaseClient: close stops every timer whether waiting, claiming or bound", () => {
  const waiting = setup();
  waiting.gate.ready = false;
  waiting.client.start();
  waiting.clock.advance(JOIN_POLL_MS * 3);
  waiting.client.close();
  assert.equal(waiting.clock.pending, 0);

  const retrying = setup();
  retrying.client.start();
  retrying.clock.advance(0);
  retrying.dht.last("create").done(NO_QUORUM);
  assert.equal(retrying.clock.pending, 1);
  retrying.client.close();
  assert.equal(retrying.clock.pending, 0);

  const held = bound();
  assert.equal(held.clock.pending, 1);
  held.client.close();
  assert.equal(held.clock.pending, 0);
  held.clock.advance(10 * LEASE_SECONDS * 1000);
  assert.equal(held.dht.calls.length, 1, "no renewal after close");
  assert.equal(held.client.lease?.ip, FIRST, "close is not a release");
});

// A DHT answer arriving after close (DhtClient.close() ends every pending request with
// NoQuorum) must neither re-arm the retry timer nor bind.
Deno.test({
  name: "LeaseClient: a DHT answer arriving after close schedules nothing",
  fn() {
    const { clock, dht, leases, client } = setup();
    client.start();
    clock.advance(0);
    client.close();
    dht.last("create").done(NO_QUORUM);
    assert.equal(clock.pending, 0, "a late NoQuorum re-armed the retry timer");
    dht.last("create").done(OK);
    assert.deepEqual(leases, [], "a late Ok bound the address after close");
    assert.equal(clock.pending, 0);
  },
});
