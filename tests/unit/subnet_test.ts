import assert from "node:assert/strict";
import { ConfigError } from "../../lib/config/config_error.ts";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import type { Rng } from "../../lib/clock/clock.ts";
import {
  assignableCount,
  broadcastAddress,
  firstChoice,
  formatSubnet,
  gatewayAddress,
  hostCount,
  isAssignable,
  leaseKey,
  MAX_LEASE_KEY_BYTES,
  parseCanonicalIpv4,
  parseLeaseKey,
  parseNetworkName,
  parseSubnet,
  randomChoice,
  type Subnet,
  subnetContains,
  subnetMask,
  subnetOf,
} from "../../lib/dhcp/subnet.ts";
import { ipv4ToNumber, numberToIpv4 } from "../../lib/vnet/ipv4.ts";

const SEED = Deno.env.get("SEED") ?? "subnet";
const ip = ipv4ToNumber;

function configError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), "message is one line");
    return;
  }
  assert.fail(`expected a ConfigError matching ${pattern}`);
}

/** The obvious model: position of `n` in its subnet, by string and arithmetic on octets. */
function modelClass(s: Subnet, n: number): string {
  const size = 2 ** (32 - s.prefix);
  if (n < s.base || n >= s.base + size) return "outside";
  const offset = n - s.base;
  if (offset === 0) return "network";
  if (offset === 1) return "gateway";
  if (offset === size - 1) return "broadcast";
  return "assignable";
}

Deno.test("parseSubnet reads network addresses with prefix 8-30", () => {
  assert.deepEqual(parseSubnet("100.64.0.0/16"), { base: ip("100.64.0.0"), prefix: 16 });
  assert.deepEqual(parseSubnet("100.64.0.0/10"), { base: ip("100.64.0.0"), prefix: 10 });
  assert.deepEqual(parseSubnet("100.64.3.252/30"), { base: ip("100.64.3.252"), prefix: 30 });
  assert.deepEqual(parseSubnet("100.0.0.0/8"), { base: ip("100.0.0.0"), prefix: 8 });
  assert.equal(formatSubnet(parseSubnet("100.64.7.0/24")), "100.64.7.0/24");
});

Deno.test("parseSubnet rejects bad text with a one-line error naming --subnet", () => {
  const cases: [string, RegExp][] = [
    ["100.64.0.5/16", /Bad --subnet "100\.64\.0\.5\/16": host bits are set; .*100\.64\.0\.0\/16$/],
    ["100.64.1.0/10", /the network is 100\.64\.0\.0\/10/],
    ["100.64.0.4/29", /the network is 100\.64\.0\.0\/29/],
    ["100.64.0.0/31", /--subnet.*prefix must be 8-30/],
    ["100.64.0.0/32", /prefix must be 8-30/],
    ["100.0.0.0/7", /prefix must be 8-30/],
    ["100.64.0.0", /--subnet.*expected an IPv4 network/],
    ["100.64.0.0/", /expected an IPv4 network/],
    ["100.64.0.0/016", /expected an IPv4 network/],
    ["100.64.0.0/1x", /expected an IPv4 network/],
    ["100.064.0.0/16", /expected an IPv4 network/],
    ["100.64.0.256/24", /expected an IPv4 network/],
    ["fd00::/64", /expected an IPv4 network/],
    ["", /--subnet/],
  ];
  for (const [text, pattern] of cases) configError(() => parseSubnet(text), pattern);
});

Deno.test("parseCanonicalIpv4 accepts only canonical dotted quads", () => {
  assert.equal(parseCanonicalIpv4("100.64.0.1"), 0x64400001);
  assert.equal(parseCanonicalIpv4("255.255.255.255"), 0xffffffff);
  assert.equal(parseCanonicalIpv4("0.0.0.0"), 0);
  for (const bad of ["100.64.0", "100.64.0.01", "1.2.3.256", " 1.2.3.4", "1.2.3.4/8", "a.b.c.d"]) {
    assert.equal(parseCanonicalIpv4(bad), null, bad);
  }
});

Deno.test("subnetMask and subnetOf clear exactly the host bits", () => {
  assert.equal(subnetMask(8), 0xff000000);
  assert.equal(subnetMask(16), 0xffff0000);
  assert.equal(subnetMask(30), 0xfffffffc);
  assert.equal(subnetMask(32), 0xffffffff);
  assert.equal(subnetMask(0), 0);
  assert.deepEqual(subnetOf(ip("100.64.200.77"), 20), { base: ip("100.64.192.0"), prefix: 20 });
  assert.deepEqual(subnetOf(ip("255.255.255.255"), 8), { base: ip("255.0.0.0"), prefix: 8 });
});

Deno.test("every address around a /29 and a /30 is classified like the model", () => {
  for (const text of ["100.64.0.8/29", "100.64.0.12/30", "100.127.255.248/29"]) {
    const s = parseSubnet(text);
    let assignable = 0;
    for (let n = s.base - 16; n < s.base + 24; n++) {
      const cls = modelClass(s, n);
      assert.equal(subnetContains(s, n), cls !== "outside", `${text} contains ${numberToIpv4(n)}`);
      assert.equal(isAssignable(s, n), cls === "assignable", `${text} ${numberToIpv4(n)} ${cls}`);
      if (cls === "assignable") assignable++;
    }
    assert.equal(assignable, assignableCount(s), text);
    assert.equal(hostCount(s), assignableCount(s) + 1, text);
  }
  const s29 = parseSubnet("100.64.0.8/29");
  assert.equal(hostCount(s29), 6);
  assert.equal(assignableCount(s29), 5);
  assert.equal(gatewayAddress(s29), ip("100.64.0.9"));
  assert.equal(broadcastAddress(s29), ip("100.64.0.15"));
  const s30 = parseSubnet("100.64.0.12/30");
  assert.deepEqual(
    [12, 13, 14, 15].map((last) => isAssignable(s30, ip(`100.64.0.${last}`))),
    [false, false, true, false],
  );
});

Deno.test("subnetContains is false for numbers that are not uint32 addresses", () => {
  const s = parseSubnet("100.0.0.0/8");
  for (const n of [-1, 2 ** 32, ip("100.0.0.7") + 0.5, NaN, Infinity]) {
    assert.equal(subnetContains(s, n), false, String(n));
    assert.equal(isAssignable(s, n), false, String(n));
  }
  assert.equal(hostCount(parseSubnet("100.64.0.0/16")), 65534);
  assert.equal(hostCount(parseSubnet("100.0.0.0/8")), 2 ** 24 - 2);
});

Deno.test("firstChoice is deterministic, always assignable and spread over a /24", () => {
  const rng = new SeededRng(SEED);
  const s = parseSubnet("100.64.9.0/24");
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const key = rng.fill(new Uint8Array(32));
    const a = firstChoice(s, key, "ipop");
    assert.ok(isAssignable(s, a), `seed ${SEED}: ${numberToIpv4(a)} not assignable`);
    assert.equal(firstChoice(s, key.slice(), "ipop"), a, "same key, same choice");
    seen.add(a);
  }
  assert.ok(seen.size >= 200, `seed ${SEED}: only ${seen.size} distinct of 253`);
});

Deno.test("firstChoice and randomChoice stay assignable for every prefix 8-30", () => {
  const rng = new SeededRng(SEED);
  for (let prefix = 8; prefix <= 30; prefix++) {
    for (let i = 0; i < 40; i++) {
      const s = subnetOf(rng.uint32(), prefix);
      const a = firstChoice(s, rng.fill(new Uint8Array(32)), "ipop");
      const b = randomChoice(s, rng);
      assert.ok(isAssignable(s, a), `seed ${SEED}: ${formatSubnet(s)} first ${numberToIpv4(a)}`);
      assert.ok(isAssignable(s, b), `seed ${SEED}: ${formatSubnet(s)} random ${numberToIpv4(b)}`);
    }
  }
});

Deno.test("firstChoice depends on the network name and the key", () => {
  const s = parseSubnet("100.64.0.0/16");
  const key = new Uint8Array(32).fill(7);
  const names = ["ipop", "lab", "lab-2", "a", "b", "c", "d", "e"];
  const choices = new Set(names.map((n) => firstChoice(s, key, n)));
  assert.ok(choices.size >= 7, `names barely change the choice: ${choices.size}`);
  const other = new Uint8Array(32).fill(8);
  assert.notEqual(firstChoice(s, key, "ipop"), firstChoice(s, other, "ipop"));
});

Deno.test("firstChoice and randomChoice give the single address of a /30", () => {
  const s = parseSubnet("100.64.0.4/30");
  const rng = new SeededRng(SEED);
  for (let i = 0; i < 50; i++) {
    assert.equal(firstChoice(s, rng.fill(new Uint8Array(32)), "ipop"), ip("100.64.0.6"));
    assert.equal(randomChoice(s, rng), ip("100.64.0.6"));
  }
});

Deno.test("randomChoice is uniform over the assignable addresses of a /29", () => {
  const s = parseSubnet("100.64.0.16/29");
  const rng = new SeededRng(SEED);
  const counts = new Map<number, number>();
  const draws = 50_000;
  for (let i = 0; i < draws; i++) {
    const a = randomChoice(s, rng);
    assert.ok(isAssignable(s, a), numberToIpv4(a));
    counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  assert.equal(counts.size, 5);
  // Chi-square with 4 degrees of freedom: 18.47 is the 0.1% critical value.
  const expected = draws / 5;
  let chi2 = 0;
  for (const c of counts.values()) chi2 += (c - expected) ** 2 / expected;
  assert.ok(chi2 < 18.47, `seed ${SEED}: chi-square ${chi2.toFixed(2)}`);
});

Deno.test("randomChoice redraws values that would bias the result", () => {
  const s = parseSubnet("100.64.0.16/29"); // 5 assignable; 2^32 % 5 = 1, so 2^32 - 1 is rejected
  const values = [0xffffffff, 0xffffffff, 7];
  let calls = 0;
  const rng: Rng = {
    fill: (out) => out,
    uint32: () => values[calls++]!,
  };
  assert.equal(randomChoice(s, rng), s.base + 2 + (7 % 5));
  assert.equal(calls, 3);
});

Deno.test("leaseKey writes ip/<network>/<a.b.c.d> and parseLeaseKey reads it back", () => {
  const key = leaseKey("ipop", ip("100.64.3.7"));
  assert.equal(new TextDecoder().decode(key), "ip/ipop/100.64.3.7");
  assert.deepEqual(parseLeaseKey(key), { network: "ipop", ip: ip("100.64.3.7") });
  const longest = leaseKey("a".repeat(32), 0xffffffff);
  assert.equal(longest.length, MAX_LEASE_KEY_BYTES);
  assert.deepEqual(parseLeaseKey(longest), { network: "a".repeat(32), ip: 0xffffffff });
  const rng = new SeededRng(SEED);
  for (let i = 0; i < 500; i++) {
    const n = rng.uint32();
    assert.deepEqual(parseLeaseKey(leaseKey("net-1", n)), { network: "net-1", ip: n });
  }
  assert.throws(() => leaseKey("Bad", 1), RangeError);
  assert.throws(() => leaseKey("ipop", -1), RangeError);
  assert.throws(() => leaseKey("ipop", 2 ** 32), RangeError);
});

Deno.test("parseLeaseKey returns null for anything leaseKey would not write", () => {
  const enc = (t: string) => new TextEncoder().encode(t);
  const bad = [
    "",
    "ip/ipop/100.64.3",
    "ip/ipop/100.64.3.07",
    "ip/ipop/100.64.3.256",
    "ip/ipop/100.64.3.7/",
    "ip//100.64.3.7",
    "ip/-x/100.64.3.7",
    "ip/IPOP/100.64.3.7",
    `ip/${"a".repeat(33)}/1.2.3.4`,
    "ipx/ipop/1.2.3.4",
    "peer/ipop/1.2.3.4",
  ];
  for (const t of bad) assert.equal(parseLeaseKey(enc(t)), null, t);
  assert.equal(parseLeaseKey(Uint8Array.of(0x69, 0x70, 0x2f, 0xff, 0x2f, 0x31)), null);
  assert.equal(parseLeaseKey(new Uint8Array(100_000)), null);
  // Fuzz: random bytes never throw, and anything accepted round-trips exactly.
  const rng = new SeededRng(SEED);
  for (let i = 0; i < 2000; i++) {
    const bytes = rng.fill(new Uint8Array(rng.uint32() % 60));
    const parsed = parseLeaseKey(bytes);
    if (parsed) assert.deepEqual(leaseKey(parsed.network, parsed.ip), bytes);
  }
});

Deno.test("parseNetworkName accepts 1-32 of [a-z0-9-] not starting with '-'", () => {
  for (const ok of ["ipop", "a", "0", "lab-2", "a".repeat(32), "x-", "9-9"]) {
    assert.equal(parseNetworkName(ok), ok);
  }
  for (const bad of ["", "-a", "Ipop", "a_b", "a.b", "a b", "a".repeat(33), "ipöp", "a/b"]) {
    configError(() => parseNetworkName(bad), /^Bad --network/);
  }
});
