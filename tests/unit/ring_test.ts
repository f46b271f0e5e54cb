import assert from "node:assert/strict";
import { type OverlayAddress, randomAddress, RING_SIZE } from "../../lib/overlay/address.ts";
import {
  addOffset,
  clockwiseDistance,
  compareCloseness,
  isBetweenClockwise,
  nearestOnEachSide,
  ringDistance,
} from "../../lib/overlay/ring.ts";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";

const MAX = RING_SIZE - 1n;
const HALF = RING_SIZE / 2n;
const SEED = Deno.env.get("SEED") ?? "ring";

/** Addresses biased to the interesting places: near 0, near the top, near the half point. */
function edgyAddress(rng: SeededRng): OverlayAddress {
  const small = BigInt(rng.int(5));
  switch (rng.int(5)) {
    case 0:
      return small;
    case 1:
      return MAX - small;
    case 2:
      return HALF - 2n + small;
    default:
      return randomAddress(rng);
  }
}

Deno.test("clockwiseDistance wraps around zero", () => {
  assert.equal(clockwiseDistance(MAX, 0n), 1n);
  assert.equal(clockwiseDistance(0n, MAX), MAX);
  assert.equal(clockwiseDistance(MAX - 1n, 2n), 4n);
  assert.equal(clockwiseDistance(5n, 5n), 0n);
  assert.equal(clockwiseDistance(0n, HALF), HALF);
  assert.equal(clockwiseDistance(HALF, 0n), HALF);
  assert.equal(clockwiseDistance(HALF + 1n, 0n), HALF - 1n);
});

Deno.test("ringDistance takes the shorter way and peaks at exactly half the ring", () => {
  assert.equal(ringDistance(0n, MAX), 1n);
  assert.equal(ringDistance(MAX, 0n), 1n);
  assert.equal(ringDistance(7n, 7n), 0n);
  assert.equal(ringDistance(0n, HALF), HALF);
  assert.equal(ringDistance(HALF, 0n), HALF);
  assert.equal(ringDistance(1n, HALF + 1n), HALF);
  assert.equal(ringDistance(0n, HALF + 1n), HALF - 1n);
  assert.equal(ringDistance(MAX, HALF - 1n), HALF);
  assert.equal(ringDistance(MAX, HALF), HALF - 1n);
});

Deno.test("ring distances agree with a plain-integer model on edge and random pairs", () => {
  const rng = new SeededRng(SEED);
  for (let i = 0; i < 5000; i++) {
    const a = edgyAddress(rng), b = edgyAddress(rng);
    const cw = b >= a ? b - a : b + RING_SIZE - a;
    assert.equal(clockwiseDistance(a, b), cw, `seed ${SEED}`);
    const lin = a > b ? a - b : b - a;
    const shorter = lin <= HALF ? lin : RING_SIZE - lin;
    assert.equal(ringDistance(a, b), shorter, `seed ${SEED}`);
    assert.equal(ringDistance(b, a), shorter);
    assert.ok(shorter >= 0n && shorter <= HALF);
    assert.equal(addOffset(a, cw), b);
    assert.equal(addOffset(b, -cw), a);
  }
});

Deno.test("isBetweenClockwise excludes the ends and handles wrap and from === to", () => {
  assert.ok(isBetweenClockwise(MAX, MAX - 1n, 1n));
  assert.ok(isBetweenClockwise(0n, MAX - 1n, 1n));
  assert.ok(!isBetweenClockwise(1n, MAX - 1n, 1n));
  assert.ok(!isBetweenClockwise(MAX - 1n, MAX - 1n, 1n));
  assert.ok(!isBetweenClockwise(2n, MAX - 1n, 1n));
  assert.ok(!isBetweenClockwise(HALF, MAX - 1n, 1n));
  assert.ok(isBetweenClockwise(HALF, 1n, MAX - 1n));
  assert.ok(!isBetweenClockwise(0n, 1n, MAX - 1n));
  // Adjacent ends: empty arc.
  assert.ok(!isBetweenClockwise(5n, 5n, 6n));
  assert.ok(!isBetweenClockwise(6n, 5n, 6n));
  assert.ok(!isBetweenClockwise(0n, MAX, 0n));
  // from === to: whole ring but that point.
  assert.ok(!isBetweenClockwise(9n, 9n, 9n));
  assert.ok(isBetweenClockwise(10n, 9n, 9n));
  assert.ok(isBetweenClockwise(8n, 9n, 9n));
  assert.ok(isBetweenClockwise(MAX, 0n, 0n));
  assert.ok(isBetweenClockwise(0n, MAX, MAX));
});

Deno.test("isBetweenClockwise agrees with a case-analysis model", () => {
  const rng = new SeededRng(SEED);
  for (let i = 0; i < 20000; i++) {
    const x = edgyAddress(rng), from = edgyAddress(rng), to = edgyAddress(rng);
    let expected: boolean;
    if (from < to) expected = from < x && x < to;
    else if (from > to) expected = x > from || x < to;
    else expected = x !== from;
    assert.equal(isBetweenClockwise(x, from, to), expected, `seed ${SEED}: ${x} ${from} ${to}`);
    if (from !== to && x !== from && x !== to) {
      assert.notEqual(isBetweenClockwise(x, from, to), isBetweenClockwise(x, to, from));
    }
  }
});

Deno.test("addOffset wraps both ways and reduces large offsets", () => {
  assert.equal(addOffset(MAX, 1n), 0n);
  assert.equal(addOffset(0n, -1n), MAX);
  assert.equal(addOffset(3n, -5n), MAX - 1n);
  assert.equal(addOffset(HALF, HALF), 0n);
  assert.equal(addOffset(4n, 3n * RING_SIZE + 2n), 6n);
  assert.equal(addOffset(4n, -3n * RING_SIZE - 2n), 2n);
  assert.equal(addOffset(7n, 0n), 7n);
});

Deno.test("compareCloseness prefers the nearer, then the clockwise-after on ties", () => {
  assert.ok(compareCloseness(100n, 101n, 103n) < 0);
  assert.ok(compareCloseness(100n, 103n, 101n) > 0);
  assert.equal(compareCloseness(100n, 101n, 101n), 0);
  assert.ok(compareCloseness(100n, 100n, 101n) < 0);
  // Tie at equal distance on both sides: clockwise-after wins.
  assert.ok(compareCloseness(10n, 15n, 5n) < 0);
  assert.ok(compareCloseness(10n, 5n, 15n) > 0);
  // Tie across the wrap.
  assert.ok(compareCloseness(0n, 5n, MAX - 4n) < 0);
  assert.ok(compareCloseness(0n, MAX - 4n, 5n) > 0);
  assert.ok(compareCloseness(MAX, 0n, MAX - 1n) < 0);
  // The diametrical point is the farthest of all.
  assert.ok(compareCloseness(0n, HALF, HALF + 1n) > 0);
  assert.ok(compareCloseness(0n, HALF - 1n, HALF) < 0);
  assert.ok(compareCloseness(1n, HALF, HALF + 1n) < 0);
});

Deno.test("compareCloseness is a strict total order matching its key", () => {
  const rng = new SeededRng(SEED);
  for (let round = 0; round < 300; round++) {
    const target = edgyAddress(rng);
    const pts = new Set<OverlayAddress>();
    for (let i = 0; i < 20; i++) {
      // Mirror pairs around target force ties.
      const d = BigInt(rng.int(4));
      pts.add(addOffset(target, d));
      pts.add(addOffset(target, -d));
      pts.add(addOffset(target, HALF - d));
      pts.add(edgyAddress(rng));
    }
    const xs = [...pts];
    const key = (x: OverlayAddress) => {
      const d = ringDistance(target, x);
      return d * RING_SIZE + clockwiseDistance(target, x);
    };
    const sorted = xs.slice().sort((a, b) => compareCloseness(target, a, b));
    const byKey = xs.slice().sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    assert.deepEqual(sorted, byKey, `seed ${SEED}`);
    for (const a of xs) {
      for (const b of xs) {
        const c = compareCloseness(target, a, b);
        assert.equal(Math.sign(c) + Math.sign(compareCloseness(target, b, a)), 0);
        assert.equal(c === 0, a === b);
      }
    }
  }
});

/** Model: sort by clockwise distance, take successors and predecessors from the two ends. */
function modelSides(self: OverlayAddress, others: OverlayAddress[]) {
  const uniq = [...new Set(others)].filter((a) => a !== self);
  const succ = uniq.sort((a, b) => {
    const da = clockwiseDistance(self, a), db = clockwiseDistance(self, b);
    return da < db ? -1 : da > db ? 1 : 0;
  });
  return { succ, pred: succ.slice().reverse() };
}

Deno.test("nearestOnEachSide matches the sorted-array model on large sets", () => {
  const rng = new SeededRng(SEED);
  for (let round = 0; round < 300; round++) {
    const k = 1 + rng.int(4);
    const others = Array.from({ length: 2 * k + rng.int(30) }, () => edgyAddress(rng));
    const self = rng.int(3) === 0 ? others[0]! : edgyAddress(rng);
    others.push(others[1]!); // duplicate
    const { succ, pred } = modelSides(self, others);
    if (succ.length < 2 * k) continue; // duplicates collapsed: covered by the small-set test
    const got = nearestOnEachSide(self, others, k);
    assert.deepEqual(got.clockwise, succ.slice(0, k), `seed ${SEED}`);
    assert.deepEqual(got.counterClockwise, pred.slice(0, k), `seed ${SEED}`);
  }
});

Deno.test("nearestOnEachSide with fewer than 2k others lists each once, split by nearer side", () => {
  const rng = new SeededRng(SEED);
  for (let round = 0; round < 2000; round++) {
    const k = 1 + rng.int(4);
    const self = edgyAddress(rng);
    const others = Array.from({ length: rng.int(2 * k) }, () => edgyAddress(rng));
    const { succ, pred } = modelSides(self, others);
    const got = nearestOnEachSide(self, [...others, self], k);
    const n = succ.length;
    assert.equal(got.clockwise.length + got.counterClockwise.length, n, `seed ${SEED}`);
    assert.ok(got.clockwise.length <= k && got.counterClockwise.length <= k);
    assert.deepEqual(got.clockwise, succ.slice(0, got.clockwise.length));
    assert.deepEqual(got.counterClockwise, pred.slice(0, got.counterClockwise.length));
    // Nearer-side rule, unless a side is full.
    for (const a of got.clockwise) {
      if (got.counterClockwise.length < k) assert.ok(clockwiseDistance(self, a) <= HALF);
    }
    for (const a of got.counterClockwise) {
      if (got.clockwise.length < k) assert.ok(clockwiseDistance(self, a) > HALF);
    }
  }
});

Deno.test("nearestOnEachSide handles wrap, tiny sets and bad k", () => {
  const got = nearestOnEachSide(0n, [MAX, 1n, 2n, MAX - 1n, HALF], 2);
  assert.deepEqual(got, { clockwise: [1n, 2n], counterClockwise: [MAX, MAX - 1n] });
  assert.deepEqual(nearestOnEachSide(0n, [HALF], 2), { clockwise: [HALF], counterClockwise: [] });
  assert.deepEqual(nearestOnEachSide(0n, [HALF + 1n], 2), {
    clockwise: [],
    counterClockwise: [HALF + 1n],
  });
  // All three on the clockwise half, but k = 2 caps that side.
  assert.deepEqual(nearestOnEachSide(0n, [3n, 1n, 2n], 2), {
    clockwise: [1n, 2n],
    counterClockwise: [3n],
  });
  assert.deepEqual(nearestOnEachSide(5n, [5n, 5n], 3), { clockwise: [], counterClockwise: [] });
  assert.deepEqual(nearestOnEachSide(5n, [1n, 9n], 0), { clockwise: [], counterClockwise: [] });
  assert.throws(() => nearestOnEachSide(0n, [], -1), RangeError);
  assert.throws(() => nearestOnEachSide(0n, [], 1.5), RangeError);
});
