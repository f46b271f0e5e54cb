import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import {
  DEFAULT_NEGATIVE_TTL_MS,
  DEFAULT_POSITIVE_TTL_MS,
  ResolverCache,
} from "../../lib/vnet/resolver_cache.ts";
import { ipv4ToNumber } from "../../lib/vnet/ipv4.ts";

const SEED = Deno.env.get("SEED") ?? "resolver-cache";
const IP_A = ipv4ToNumber("100.64.0.2");
const IP_B = ipv4ToNumber("100.64.0.3");
const IP_C = ipv4ToNumber("100.64.0.4");
const OWNER_1 = 0x1111n;
const OWNER_2 = 0x2222n;

Deno.test("ResolverCache: a remembered owner is a hit until exactly its TTL", () => {
  const cache = new ResolverCache();
  cache.remember(IP_A, OWNER_1, 1000);
  assert.deepEqual(cache.lookup(IP_A, 1000), { kind: "hit", owner: OWNER_1 });
  assert.deepEqual(cache.lookup(IP_A, 1000 + DEFAULT_POSITIVE_TTL_MS - 1), {
    kind: "hit",
    owner: OWNER_1,
  });
  assert.deepEqual(cache.lookup(IP_A, 1000 + DEFAULT_POSITIVE_TTL_MS), { kind: "miss" });
  assert.equal(cache.size, 0, "the expired entry is dropped on lookup");
  assert.deepEqual(cache.lookup(IP_B, 0), { kind: "miss" });
  assert.deepEqual([cache.hits, cache.misses, cache.negativeHits], [2, 2, 0]);
});

Deno.test("ResolverCache: a negative entry lasts exactly the negative TTL", () => {
  const cache = new ResolverCache({ negativeTtlMs: 250 });
  cache.rememberNone(IP_A, 10);
  assert.deepEqual(cache.lookup(IP_A, 259), { kind: "negative" });
  assert.deepEqual(cache.lookup(IP_A, 260), { kind: "miss" });
  assert.deepEqual([cache.hits, cache.misses, cache.negativeHits], [0, 1, 1]);
  const byDefault = new ResolverCache();
  byDefault.rememberNone(IP_B, 0);
  assert.deepEqual(byDefault.lookup(IP_B, DEFAULT_NEGATIVE_TTL_MS - 1), { kind: "negative" });
  assert.deepEqual(byDefault.lookup(IP_B, DEFAULT_NEGATIVE_TTL_MS), { kind: "miss" });
});

Deno.test("ResolverCache: an explicit TTL overrides the default, and 0 forgets", () => {
  const cache = new ResolverCache({ positiveTtlMs: 10 });
  cache.remember(IP_A, OWNER_1, 0, 500);
  assert.equal(cache.lookup(IP_A, 499).kind, "hit");
  assert.equal(cache.lookup(IP_A, 500).kind, "miss");
  cache.remember(IP_B, OWNER_1, 0);
  assert.equal(cache.lookup(IP_B, 9).kind, "hit");
  assert.equal(cache.lookup(IP_B, 10).kind, "miss");
  cache.remember(IP_C, OWNER_1, 0);
  cache.remember(IP_C, OWNER_2, 5, 0);
  assert.equal(cache.lookup(IP_C, 5).kind, "miss");
  assert.throws(() => cache.remember(IP_A, OWNER_1, 0, -1), RangeError);
  assert.throws(() => cache.remember(IP_A, OWNER_1, 0, NaN), RangeError);
  assert.throws(() => new ResolverCache({ maxEntries: 0 }), RangeError);
  assert.throws(() => new ResolverCache({ negativeTtlMs: Infinity }), RangeError);
});

Deno.test("ResolverCache: a new answer replaces the old one for the same address", () => {
  const cache = new ResolverCache();
  cache.rememberNone(IP_A, 0);
  cache.remember(IP_A, OWNER_2, 1);
  assert.deepEqual(cache.lookup(IP_A, 2), { kind: "hit", owner: OWNER_2 });
  cache.rememberNone(IP_A, 3);
  assert.deepEqual(cache.lookup(IP_A, 4), { kind: "negative" });
  assert.equal(cache.size, 1);
});

Deno.test("ResolverCache: forget and forgetOwner drop exactly their entries", () => {
  const cache = new ResolverCache();
  cache.remember(IP_A, OWNER_1, 0);
  cache.remember(IP_B, OWNER_2, 0);
  cache.remember(IP_C, OWNER_1, 0);
  cache.rememberNone(ipv4ToNumber("100.64.0.9"), 0);
  assert.equal(cache.forget(IP_B), true);
  assert.equal(cache.forget(IP_B), false);
  assert.equal(cache.forgetOwner(OWNER_1), 2);
  assert.equal(cache.forgetOwner(OWNER_1), 0);
  assert.equal(cache.lookup(IP_A, 1).kind, "miss");
  assert.equal(cache.lookup(IP_C, 1).kind, "miss");
  assert.equal(cache.lookup(ipv4ToNumber("100.64.0.9"), 1).kind, "negative");
});

Deno.test("ResolverCache: entries lists live entries with their time left", () => {
  const cache = new ResolverCache({ positiveTtlMs: 1000, negativeTtlMs: 100 });
  cache.remember(IP_A, OWNER_1, 0);
  cache.rememberNone(IP_B, 0);
  cache.remember(IP_C, OWNER_2, 50, 200);
  assert.deepEqual(cache.entries(60), [
    { ip: IP_A, kind: "positive", owner: OWNER_1, expiresInMs: 940 },
    { ip: IP_B, kind: "negative", owner: null, expiresInMs: 40 },
    { ip: IP_C, kind: "positive", owner: OWNER_2, expiresInMs: 190 },
  ]);
  assert.deepEqual(cache.entries(100).map((e) => e.ip), [IP_A, IP_C]);
  assert.deepEqual(cache.entries(1000), []);
});

Deno.test("ResolverCache: a full cache drops expired entries before live ones", () => {
  const cache = new ResolverCache({ maxEntries: 3, positiveTtlMs: 1000, negativeTtlMs: 10 });
  cache.remember(IP_A, OWNER_1, 0);
  cache.rememberNone(IP_B, 0); // expires at 10
  cache.remember(IP_C, OWNER_2, 0);
  const ipD = ipv4ToNumber("100.64.0.5");
  cache.remember(ipD, OWNER_2, 10); // IP_B expires exactly now, so it goes, not IP_A
  assert.equal(cache.size, 3);
  assert.deepEqual(cache.entries(10).map((e) => e.ip), [IP_A, IP_C, ipD]);
});

Deno.test("ResolverCache: with nothing expired a full cache drops the oldest stored", () => {
  const cache = new ResolverCache({ maxEntries: 3 });
  cache.remember(IP_A, OWNER_1, 0);
  cache.remember(IP_B, OWNER_1, 1);
  cache.remember(IP_C, OWNER_1, 2);
  cache.remember(IP_A, OWNER_2, 3); // storing again makes IP_A the newest
  const ipD = ipv4ToNumber("100.64.0.5");
  cache.remember(ipD, OWNER_1, 4);
  assert.deepEqual(cache.entries(5).map((e) => e.ip), [IP_C, IP_A, ipD]);
  assert.equal(cache.lookup(IP_B, 5).kind, "miss");
});

Deno.test("ResolverCache: never exceeds maxEntries under 100k random operations", () => {
  const rng = new SeededRng(SEED);
  const maxEntries = 64;
  const cache = new ResolverCache({ maxEntries, positiveTtlMs: 500, negativeTtlMs: 50 });
  // The model: what each address was last told, and when it expires.
  const model = new Map<number, { owner: bigint | null; expiresAtMs: number }>();
  let now = 0;
  for (let i = 0; i < 100_000; i++) {
    now += rng.uint32() % 3;
    const ip = ipv4ToNumber("100.64.0.0") + (rng.uint32() % 512);
    const op = rng.uint32() % 10;
    if (op < 5) {
      const owner = BigInt(rng.uint32() % 8);
      cache.remember(ip, owner, now);
      model.set(ip, { owner, expiresAtMs: now + 500 });
    } else if (op < 7) {
      cache.rememberNone(ip, now);
      model.set(ip, { owner: null, expiresAtMs: now + 50 });
    } else {
      const got = cache.lookup(ip, now);
      const want = model.get(ip);
      // The cache may have evicted an entry, but never invents or alters one.
      if (got.kind === "hit") {
        assert.ok(want && want.owner === got.owner && now < want.expiresAtMs, `seed ${SEED}`);
      } else if (got.kind === "negative") {
        assert.ok(want && want.owner === null && now < want.expiresAtMs, `seed ${SEED}`);
      } else if (want && now >= want.expiresAtMs) {
        model.delete(ip);
      }
    }
    assert.ok(cache.size <= maxEntries, `seed ${SEED}: size ${cache.size} at step ${i}`);
  }
  assert.ok(cache.hits > 0 && cache.negativeHits > 0 && cache.misses > 0);
});

Deno.test("ResolverCache: 100k random inserts into a default cache stay at 4096", () => {
  const rng = new SeededRng(SEED);
  const cache = new ResolverCache();
  let peak = 0;
  for (let i = 0; i < 100_000; i++) {
    const ip = rng.uint32();
    if (i % 4 === 0) cache.rememberNone(ip, i);
    else cache.remember(ip, BigInt(i), i);
    peak = Math.max(peak, cache.size);
  }
  assert.equal(peak, 4096);
  assert.ok(cache.entries(100_000).length <= 4096);
});
