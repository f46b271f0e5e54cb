import assert from "node:assert/strict";
import { VirtualClock } from "../../lib/clock/virtual_clock.ts";
import type { OutcomeHandler } from "../../lib/dht/dht_client.ts";
import { DhtStatus, type HeldRecord } from "../../lib/dht/dht_message.ts";
import type { Outcome } from "../../lib/dht/quorum.ts";
import { leaseKey } from "../../lib/dhcp/subnet.ts";
import { addressOfKey, type OverlayAddress } from "../../lib/overlay/address.ts";
import {
  IpResolver,
  MAX_RESOLVING_ADDRESSES,
  MAX_WAITERS_PER_ADDRESS,
  type ResolverDht,
} from "../../lib/vnet/ip_resolver.ts";
import { ipv4ToNumber } from "../../lib/vnet/ipv4.ts";
import {
  DEFAULT_NEGATIVE_TTL_MS,
  DEFAULT_POSITIVE_TTL_MS,
  ResolverCache,
} from "../../lib/vnet/resolver_cache.ts";

const NETWORK = "ipop";
const IP_A = ipv4ToNumber("100.64.1.2");
const BASE_IP = ipv4ToNumber("100.64.16.0");
const KEY_P = new Uint8Array(32).fill(0x11);
const KEY_Q = new Uint8Array(32).fill(0x22);
const ADDR_P = addressOfKey(KEY_P);

function held(ownerKey: Uint8Array, ip: number, seq: number, remainingMs: number): HeldRecord {
  return {
    record: {
      key: leaseKey(NETWORK, ip),
      value: new Uint8Array(0),
      owner: ownerKey,
      ttlSeconds: 120,
      seq,
      deleted: false,
      signature: new Uint8Array(64),
    },
    remainingMs,
  };
}

/** A DHT whose gets wait for the test to answer them. */
class PendingDht implements ResolverDht {
  readonly gets: { key: Uint8Array; done: OutcomeHandler }[] = [];

  get(key: Uint8Array, done: OutcomeHandler): void {
    this.gets.push({ key, done });
  }

  /** Answers the get number `i` (in call order). */
  answer(i: number, outcome: Outcome): void {
    this.gets[i]!.done(outcome);
  }
}

const ok = (...records: HeldRecord[]): Outcome => ({ status: DhtStatus.Ok, records });
const NOT_FOUND: Outcome = { status: DhtStatus.NotFound, records: [] };
const NO_QUORUM: Outcome = { status: DhtStatus.NoQuorum, records: [] };

function setup() {
  const clock = new VirtualClock();
  const dht = new PendingDht();
  const resolver = new IpResolver(dht, new ResolverCache(), clock, NETWORK);
  const answers: (OverlayAddress | null)[] = [];
  const record = (owner: OverlayAddress | null) => void answers.push(owner);
  return { clock, dht, resolver, answers, record };
}

Deno.test("IpResolver: a miss starts one DHT get of the lease key and answers later", () => {
  const { dht, resolver, answers, record } = setup();
  resolver.resolve(IP_A, record);
  assert.equal(dht.gets.length, 1);
  assert.deepEqual(dht.gets[0]!.key, leaseKey(NETWORK, IP_A));
  assert.deepEqual(answers, [], "not answered before the DHT");
  dht.answer(0, ok(held(KEY_P, IP_A, 1, 100_000)));
  assert.deepEqual(answers, [ADDR_P]);
  assert.equal(resolver.stats.lookups, 1);
});

Deno.test("IpResolver: concurrent resolves of one address share one get", () => {
  const { dht, resolver, answers, record } = setup();
  resolver.resolve(IP_A, record);
  resolver.resolve(IP_A, record);
  resolver.resolve(IP_A, record);
  assert.equal(dht.gets.length, 1);
  dht.answer(0, ok(held(KEY_P, IP_A, 1, 100_000)));
  assert.deepEqual(answers, [ADDR_P, ADDR_P, ADDR_P]);
  assert.equal(resolver.stats.lookups, 1);
});

Deno.test("IpResolver: a cached owner is answered synchronously without a get", () => {
  const { clock, dht, resolver, answers, record } = setup();
  resolver.resolve(IP_A, record);
  dht.answer(0, ok(held(KEY_P, IP_A, 1, 100_000)));
  clock.advance(30_000);
  resolver.resolve(IP_A, record);
  assert.deepEqual(answers, [ADDR_P, ADDR_P], "the second answer came inside resolve()");
  assert.equal(resolver.cached(IP_A), ADDR_P);
  assert.equal(dht.gets.length, 1);
});

Deno.test("IpResolver: of colliding claims the oldest claim's owner wins", () => {
  const { dht, resolver, answers, record } = setup();
  resolver.resolve(IP_A, record);
  dht.answer(0, ok(held(KEY_Q, IP_A, 900, 100_000), held(KEY_P, IP_A, 300, 100_000)));
  assert.deepEqual(answers, [ADDR_P]);
});

Deno.test("IpResolver: NotFound is cached negatively until the negative TTL passes", () => {
  const { clock, dht, resolver, answers, record } = setup();
  resolver.resolve(IP_A, record);
  dht.answer(0, NOT_FOUND);
  assert.deepEqual(answers, [null]);
  clock.advance(DEFAULT_NEGATIVE_TTL_MS - 1);
  resolver.resolve(IP_A, record);
  assert.deepEqual(answers, [null, null]);
  assert.equal(dht.gets.length, 1, "no new get while the negative entry lives");
  assert.equal(resolver.stats.failed, 0);
  clock.advance(1);
  resolver.resolve(IP_A, record);
  assert.equal(dht.gets.length, 2, "a new get once it expired");
  assert.equal(answers.length, 2);
});

Deno.test("IpResolver: NoQuorum answers null, counts a failure and is not cached", () => {
  const { dht, resolver, answers, record } = setup();
  resolver.resolve(IP_A, record);
  dht.answer(0, NO_QUORUM);
  assert.deepEqual(answers, [null]);
  assert.equal(resolver.stats.failed, 1);
  assert.equal(resolver.cached(IP_A), undefined);
  resolver.resolve(IP_A, record);
  assert.equal(dht.gets.length, 2, "the next resolve asks the DHT again");
  dht.answer(1, ok(held(KEY_P, IP_A, 1, 100_000)));
  assert.deepEqual(answers, [null, ADDR_P]);
});

Deno.test("IpResolver: a positive entry lives the lease's remaining time when under 60 s", () => {
  const { clock, dht, resolver, record } = setup();
  resolver.resolve(IP_A, record);
  dht.answer(0, ok(held(KEY_P, IP_A, 1, 5_000)));
  clock.advance(4_999);
  assert.equal(resolver.cached(IP_A), ADDR_P);
  clock.advance(1);
  assert.equal(resolver.cached(IP_A), undefined);
  resolver.resolve(IP_A, record);
  assert.equal(dht.gets.length, 2);
});

Deno.test("IpResolver: a positive entry lives at most 60 s however long the lease", () => {
  const { clock, dht, resolver, record } = setup();
  resolver.resolve(IP_A, record);
  dht.answer(0, ok(held(KEY_P, IP_A, 1, 3_600_000)));
  clock.advance(DEFAULT_POSITIVE_TTL_MS - 1);
  assert.equal(resolver.cached(IP_A), ADDR_P);
  clock.advance(1);
  assert.equal(resolver.cached(IP_A), undefined);
});

Deno.test("IpResolver: waiters behind one lookup are bounded and the overflow is never called", () => {
  const { dht, resolver, answers, record } = setup();
  let overflowCalls = 0;
  for (let i = 0; i < MAX_WAITERS_PER_ADDRESS; i++) resolver.resolve(IP_A, record);
  for (let i = 0; i < 5; i++) resolver.resolve(IP_A, () => overflowCalls++);
  assert.equal(resolver.stats.overflow, 5);
  assert.equal(dht.gets.length, 1);
  dht.answer(0, ok(held(KEY_P, IP_A, 1, 100_000)));
  assert.equal(answers.length, MAX_WAITERS_PER_ADDRESS);
  assert.equal(overflowCalls, 0);
});

Deno.test("IpResolver: concurrent lookups are bounded and the table does not grow", () => {
  const { dht, resolver, answers, record } = setup();
  for (let i = 0; i < MAX_RESOLVING_ADDRESSES; i++) resolver.resolve(BASE_IP + i, record);
  assert.equal(dht.gets.length, MAX_RESOLVING_ADDRESSES);
  let overflowCalls = 0;
  const beyond = BASE_IP + MAX_RESOLVING_ADDRESSES;
  resolver.resolve(beyond, () => overflowCalls++);
  resolver.resolve(beyond + 1, () => overflowCalls++);
  assert.equal(resolver.stats.overflow, 2);
  assert.equal(dht.gets.length, MAX_RESOLVING_ADDRESSES, "no get for the refused addresses");
  // A caller for an address already being looked up still joins that lookup.
  resolver.resolve(BASE_IP, record);
  assert.equal(resolver.stats.overflow, 2);
  for (let i = 0; i < MAX_RESOLVING_ADDRESSES; i++) dht.answer(i, NO_QUORUM);
  assert.equal(answers.length, MAX_RESOLVING_ADDRESSES + 1);
  assert.equal(overflowCalls, 0);
  // Every answered lookup left the table: as many fresh lookups fit again.
  for (let i = 0; i < MAX_RESOLVING_ADDRESSES; i++) resolver.resolve(BASE_IP + 1000 + i, record);
  assert.equal(resolver.stats.overflow, 2);
  assert.equal(dht.gets.length, 2 * MAX_RESOLVING_ADDRESSES);
});
