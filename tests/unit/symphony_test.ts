import assert from "node:assert/strict";
import { type OverlayAddress, randomAddress, RING_SIZE } from "../../lib/overlay/address.ts";
import { clockwiseDistance, compareCloseness, nearestOnEachSide } from "../../lib/overlay/ring.ts";
import { estimateNetworkSize } from "../../lib/overlay/size_estimate.ts";
import { farConnectionCount, farTarget } from "../../lib/overlay/symphony.ts";
import { nextHop } from "../../lib/overlay/greedy.ts";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";

const SEED = Deno.env.get("SEED") ?? "symphony";
const MAX = RING_SIZE - 1n;

function sortedRing(rng: SeededRng, n: number): OverlayAddress[] {
  const s = new Set<OverlayAddress>();
  while (s.size < n) s.add(randomAddress(rng));
  return [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function sidesAt(ring: OverlayAddress[], i: number, k: number) {
  const n = ring.length;
  return {
    clockwise: Array.from({ length: k }, (_, j) => ring[(i + j + 1) % n]!),
    counterClockwise: Array.from({ length: k }, (_, j) => ring[(i - j - 1 + 2 * n) % n]!),
  };
}

Deno.test("estimateNetworkSize edge cases: none, one, clamps, duplicates and self", () => {
  assert.equal(estimateNetworkSize(5n, { clockwise: [], counterClockwise: [] }), 1);
  assert.equal(estimateNetworkSize(5n, { clockwise: [5n], counterClockwise: [5n] }), 1);
  // One neighbour half a ring away: 1 gap of half the ring -> 2 nodes.
  assert.equal(estimateNetworkSize(0n, { clockwise: [RING_SIZE / 2n], counterClockwise: [] }), 2);
  // Neighbours spanning almost the whole ring: clamped to m + 1.
  assert.equal(estimateNetworkSize(0n, { clockwise: [MAX - 1n], counterClockwise: [1n] }), 3);
  // Duplicates across sides count once.
  const q = RING_SIZE / 1000n;
  assert.equal(
    estimateNetworkSize(0n, { clockwise: [q, q], counterClockwise: [MAX - q + 1n] }),
    1000,
  );
});

Deno.test("estimateNetworkSize is exact on evenly spaced rings, across the wrap", () => {
  for (const n of [8, 100, 1024, 65536]) {
    const step = RING_SIZE / BigInt(n);
    const ring = Array.from({ length: n }, (_, i) => BigInt(i) * step + 7n);
    for (const i of [0, 1, n - 1, n >> 1]) {
      const near = sidesAt(ring, i, 3);
      assert.ok(Math.abs(estimateNetworkSize(ring[i]!, near) - n) <= 1, `n ${n} i ${i}`);
      // Order within the lists does not matter.
      const shuffled = {
        clockwise: near.clockwise.toReversed(),
        counterClockwise: near.counterClockwise,
      };
      assert.equal(estimateNetworkSize(ring[i]!, shuffled), estimateNetworkSize(ring[i]!, near));
    }
  }
});

Deno.test("estimateNetworkSize with k = 3 is within 2x of the truth on random rings", () => {
  const rng = new SeededRng(SEED);
  for (const n of [100, 1000, 10000, 100000]) {
    // Several rings for small n so the 2000 samples are not all from one ring.
    const rings = Math.ceil(2000 / n);
    const ratios: number[] = [];
    for (let g = 0; g < rings; g++) {
      const ring = sortedRing(rng, n);
      for (let s = 0; s < 2000 / rings; s++) {
        const i = rng.int(n);
        ratios.push(estimateNetworkSize(ring[i]!, sidesAt(ring, i, 3)) / n);
      }
    }
    ratios.sort((a, b) => a - b);
    const within2 = ratios.filter((r) => r >= 0.5 && r <= 2).length / ratios.length;
    const median = ratios[ratios.length >> 1]!;
    const ctx = `seed ${SEED} n ${n} median ${median.toFixed(3)} within2x ${within2}`;
    console.log(`size estimate k=3 ${ctx.slice(ctx.indexOf("n "))}`);
    assert.ok(within2 >= 0.8, ctx);
    assert.ok(median > 0.85 && median < 1.25, ctx);
    // Averaged over log: what a node gets by averaging its neighbours' estimates.
    const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
    assert.ok(geo > 0.85 && geo < 1.25, ctx);
  }
});

Deno.test("farConnectionCount: none for tiny rings, ceil(log2(n) / 2) otherwise", () => {
  assert.equal(farConnectionCount(1, 2), 0);
  assert.equal(farConnectionCount(5, 2), 0);
  assert.equal(farConnectionCount(6, 2), 2);
  assert.equal(farConnectionCount(7, 3), 0);
  assert.equal(farConnectionCount(8, 3), 2);
  assert.equal(farConnectionCount(1000, 2), 5);
  assert.equal(farConnectionCount(1024, 2), 5);
  assert.equal(farConnectionCount(1025, 2), 6);
  assert.equal(farConnectionCount(NaN, 2), 0);
  assert.equal(farConnectionCount(Infinity, 2), 80);
});

Deno.test("farTarget distances lie in [2^160 / n, 2^160) and wrap past zero", () => {
  const rng = new SeededRng(SEED);
  for (const self of [0n, 1n, MAX, MAX - 1000n, RING_SIZE / 2n]) {
    for (const n of [2, 3, 100, 1e6, 2 ** 40, 2 ** 200]) {
      for (let i = 0; i < 200; i++) {
        const t = farTarget(self, n, rng);
        assert.ok(t >= 0n && t < RING_SIZE);
        const d = clockwiseDistance(self, t);
        assert.ok(d >= 1n, `seed ${SEED}`);
        const lo = n >= 2 ** 160 ? 1n : RING_SIZE / BigInt(Math.floor(n)) - 1n;
        assert.ok(d >= lo, `seed ${SEED} n ${n} d ${d}`);
      }
    }
  }
  // Sizes below 2 are treated as 2; it never returns self.
  for (let i = 0; i < 100; i++) {
    for (const n of [0, 1, -5, NaN]) {
      const d = clockwiseDistance(3n, farTarget(3n, n, rng));
      assert.ok(d >= RING_SIZE / 2n && d < RING_SIZE, `n ${n}`);
    }
  }
});

Deno.test("farTarget is seed-deterministic", () => {
  const a = new SeededRng(42), b = new SeededRng(42);
  for (let i = 0; i < 100; i++) assert.equal(farTarget(9n, 5000, a), farTarget(9n, 5000, b));
});

Deno.test("farTarget is harmonic: log2 of the distance is uniform across bands", () => {
  const rng = new SeededRng(SEED);
  const bits = 20, draws = 40000;
  const bands = new Array<number>(bits).fill(0);
  for (let i = 0; i < draws; i++) {
    const d = clockwiseDistance(12345n, farTarget(12345n, 2 ** bits, rng));
    const band = d.toString(2).length - 1 - (160 - bits); // floor(log2 d) - 140
    assert.ok(band >= 0 && band < bits, `seed ${SEED} band ${band}`);
    bands[band]!++;
  }
  const expected = draws / bits;
  let chi2 = 0;
  for (const c of bands) chi2 += (c - expected) ** 2 / expected;
  // 19 degrees of freedom: p = 0.001 at chi2 ~ 43.8.
  assert.ok(chi2 < 43.8, `seed ${SEED} chi2 ${chi2.toFixed(1)} bands ${bands}`);
  // Within a band the density falls as 1/d: the lower half of the band [2^b, 1.5·2^b) holds
  // log2(1.5) ~ 58.5% of it.
  let lower = 0, total = 0;
  const rng2 = new SeededRng(SEED + "/within");
  for (let i = 0; i < draws; i++) {
    const d = clockwiseDistance(0n, farTarget(0n, 2 ** bits, rng2));
    const top = BigInt(d.toString(2).length - 1);
    total++;
    if (d < (3n << top) / 2n) lower++;
  }
  assert.ok(Math.abs(lower / total - Math.log2(1.5)) < 0.015, `seed ${SEED} ${lower / total}`);
});

Deno.test("a Symphony ring routes greedily in few hops (measured)", () => {
  const rng = new SeededRng(SEED);
  const n = 2000, k = 2;
  const ring = sortedRing(rng, n);
  const nearestNode = (t: OverlayAddress) => {
    let lo = 0, hi = n; // first index with ring[idx] >= t
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ring[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    const a = ring[lo % n]!, b = ring[(lo - 1 + n) % n]!;
    return compareCloseness(t, a, b) <= 0 ? a : b;
  };
  const links = new Map<OverlayAddress, Set<OverlayAddress>>(ring.map((a) => [a, new Set()]));
  const link = (a: OverlayAddress, b: OverlayAddress) => {
    if (a === b) return;
    links.get(a)!.add(b);
    links.get(b)!.add(a);
  };
  ring.forEach((a, i) => {
    const near = nearestOnEachSide(a, [
      ...sidesAt(ring, i, k).clockwise,
      ...sidesAt(ring, i, k).counterClockwise,
    ], k);
    for (const b of [...near.clockwise, ...near.counterClockwise]) link(a, b);
    const est = estimateNetworkSize(a, sidesAt(ring, i, 3));
    for (let f = 0; f < farConnectionCount(est, k); f++) {
      link(a, nearestNode(farTarget(a, est, rng)));
    }
  });
  let hops = 0, maxHops = 0;
  const routes = 1000;
  for (let r = 0; r < routes; r++) {
    const dst = ring[rng.int(n)]!;
    let at = ring[rng.int(n)]!, h = 0;
    for (;;) {
      const d = nextHop(at, dst, links.get(at)!, "exact");
      if (d.kind !== "forward") {
        assert.equal(d.kind, "deliver", `seed ${SEED}`);
        break;
      }
      at = d.next;
      h++;
    }
    hops += h;
    maxHops = Math.max(maxHops, h);
  }
  const mean = hops / routes;
  console.log(`symphony n=${n}: mean hops ${mean.toFixed(2)}, max ${maxHops}`);
  assert.ok(mean < Math.log2(n), `seed ${SEED} mean hops ${mean}`);
});
