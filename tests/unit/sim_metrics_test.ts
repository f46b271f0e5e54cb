import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { randomAddress, RING_SIZE } from "../../lib/overlay/address.ts";
import { compareCloseness } from "../../lib/overlay/ring.ts";
import {
  bruteNearest,
  hopStats,
  nearestConnectedSides,
  percentile,
  ringConsistency,
  type RingView,
  sortAddresses,
} from "../../bench/sim/metrics.ts";
import { decodeProbe, encodeProbe } from "../../bench/sim/probes.ts";
import { churnIntervalMs } from "../../bench/sim/churn.ts";
import { hostIp, MAX_SIM_HOSTS } from "../../bench/sim/world.ts";

const TOP = RING_SIZE - 1n;

/** A ring of `addresses` where every node is linked to its true neighbours (and `extra`). */
function perfectRing(addresses: bigint[], extra: (a: bigint) => bigint[] = () => []): RingView[] {
  const sorted = sortAddresses(addresses);
  const n = sorted.length;
  return addresses.map((a) => {
    const i = sorted.indexOf(a);
    return {
      address: a,
      connected: [sorted[(i + 1) % n]!, sorted[(i - 1 + n) % n]!, ...extra(a)],
    };
  });
}

Deno.test("ringConsistency: a ring where everyone links its true neighbours is 100% consistent", () => {
  const addrs = [50n, 10n, 1000n, TOP, 0n, 7n];
  const r = ringConsistency(perfectRing(addrs, (a) => [a === 0n ? 1000n : 0n]));
  assert.equal(r.total, 6);
  assert.equal(r.consistent, 6);
  assert.equal(r.fraction, 1);
  assert.deepEqual(r.inconsistent, []);
});

Deno.test("ringConsistency: wrap-around neighbours (0 and 2^160-1) are each other's", () => {
  const views: RingView[] = [
    { address: 0n, connected: [TOP, 5n] },
    { address: 5n, connected: [0n, TOP] },
    { address: TOP, connected: [5n, 0n] },
  ];
  assert.equal(ringConsistency(views).fraction, 1);
  // 0 linked only to 5 on both sides: its predecessor (TOP) is missing.
  views[0] = { address: 0n, connected: [5n] };
  const r = ringConsistency(views);
  assert.equal(r.consistent, 2);
  assert.deepEqual(r.inconsistent, [0]);
});

Deno.test("ringConsistency: a missing successor link makes the node inconsistent", () => {
  const views = perfectRing([100n, 200n, 300n, 400n]);
  views[1] = { address: 200n, connected: [100n, 400n] }; // skips 300
  const r = ringConsistency(views);
  assert.equal(r.consistent, 3);
  assert.deepEqual(r.inconsistent, [1]);
  assert.equal(r.fraction, 0.75);
});

Deno.test("ringConsistency: a stale link to a departed node nearer than the true neighbour counts", () => {
  // 250 has left (not in the list) but 200 still holds a connection to it.
  const views = perfectRing([100n, 200n, 300n], (a) => (a === 200n ? [250n] : []));
  const r = ringConsistency(views);
  assert.deepEqual(r.inconsistent, [1]);
});

Deno.test("ringConsistency: a lone node is consistent, two nodes need each other", () => {
  assert.equal(ringConsistency([{ address: 9n, connected: [] }]).fraction, 1);
  assert.equal(ringConsistency([]).fraction, 1);
  const two = ringConsistency([{ address: 1n, connected: [2n] }, { address: 2n, connected: [] }]);
  assert.deepEqual(two.inconsistent, [1]);
});

Deno.test("ringConsistency rejects duplicate addresses", () => {
  assert.throws(() =>
    ringConsistency([{ address: 1n, connected: [] }, { address: 1n, connected: [] }])
  );
});

Deno.test("nearestConnectedSides ignores self and picks the nearest each way across the wrap", () => {
  const s = nearestConnectedSides(10n, [10n, TOP - 5n, 20n, 15n, TOP]);
  assert.equal(s.clockwise, 15n);
  assert.equal(s.counterClockwise, TOP);
  assert.deepEqual(nearestConnectedSides(10n, [10n]), { clockwise: null, counterClockwise: null });
});

Deno.test("bruteNearest matches a linear scan, ties going clockwise of the key", () => {
  const sorted = sortAddresses([100n, 200n, TOP - 100n]);
  assert.equal(bruteNearest(sorted, 150n), 200n); // tie: 50 either way, clockwise wins
  assert.equal(bruteNearest(sorted, 140n), 100n);
  assert.equal(bruteNearest(sorted, 0n), 100n); // 100 ahead beats 101 back across the wrap
  assert.equal(bruteNearest(sorted, TOP), TOP - 100n); // 100 back beats 101 ahead
  // Against a linear scan with compareCloseness, on random rings and keys.
  const rng = new SeededRng(7);
  for (let round = 0; round < 200; round++) {
    const addrs = Array.from({ length: 1 + rng.int(20) }, () => randomAddress(rng));
    const key = randomAddress(rng);
    const slow = addrs.reduce((best, a) => (compareCloseness(key, a, best) < 0 ? a : best));
    assert.equal(bruteNearest(sortAddresses(addrs), key), slow);
  }
  assert.equal(bruteNearest([42n], 7n), 42n);
  assert.throws(() => bruteNearest([], 1n));
});

Deno.test("percentile and hopStats use nearest rank", () => {
  const hops = [3, 1, 2, 2, 5, 4, 2, 3, 1, 9];
  const s = hopStats(hops);
  assert.equal(s.count, 10);
  assert.equal(s.mean, 3.2);
  assert.equal(s.p50, 2);
  assert.equal(s.p99, 9);
  assert.equal(s.max, 9);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile(hundred, 50), 50);
  assert.ok(Number.isNaN(hopStats([]).mean));
});

Deno.test("probe payloads round-trip and other payloads are not probes", () => {
  assert.equal(decodeProbe(encodeProbe(123456)), 123456);
  assert.equal(decodeProbe(new Uint8Array(8)), null);
  assert.equal(decodeProbe(new Uint8Array(9)), null);
});

Deno.test("hostIp numbers hosts through 198.18.0.0/15 and churnIntervalMs spreads events", () => {
  assert.equal(hostIp(0), "198.18.0.1");
  assert.equal(hostIp(255), "198.18.1.0");
  assert.equal(hostIp(65535), "198.19.0.0");
  assert.equal(hostIp(MAX_SIM_HOSTS - 1), "198.19.255.254");
  assert.throws(() => hostIp(MAX_SIM_HOSTS));
  assert.equal(churnIntervalMs(0.1, 1000), 600);
  assert.equal(churnIntervalMs(0, 1000), Infinity);
});
