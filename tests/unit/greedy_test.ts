import assert from "node:assert/strict";
import { type OverlayAddress, randomAddress, RING_SIZE } from "../../lib/overlay/address.ts";
import { addOffset, compareCloseness } from "../../lib/overlay/ring.ts";
import { nextHop, type RoutingMode } from "../../lib/overlay/greedy.ts";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";

const SEED = Deno.env.get("SEED") ?? "greedy";
const MAX = RING_SIZE - 1n;
const HALF = RING_SIZE / 2n;

Deno.test("nextHop delivers at self and forwards to the closest connection", () => {
  assert.deepEqual(nextHop(10n, 10n, [9n, 11n], "exact"), { kind: "deliver" });
  assert.deepEqual(nextHop(10n, 10n, [], "nearest"), { kind: "deliver" });
  assert.deepEqual(nextHop(10n, 100n, [50n, 90n, 120n], "exact"), { kind: "forward", next: 90n });
  assert.deepEqual(nextHop(10n, 100n, [100n, 90n], "exact"), { kind: "forward", next: 100n });
  // Self is closest: nearest delivers, exact gives up.
  assert.deepEqual(nextHop(99n, 100n, [50n, 200n], "nearest"), { kind: "deliver" });
  assert.deepEqual(nextHop(99n, 100n, [50n, 200n], "exact"), { kind: "unreachable" });
  // A candidate equal to self is ignored.
  assert.deepEqual(nextHop(99n, 100n, [99n], "exact"), { kind: "unreachable" });
});

Deno.test("nextHop breaks ties toward the clockwise-after side, also across zero", () => {
  assert.deepEqual(nextHop(5n, 10n, [15n], "nearest"), { kind: "forward", next: 15n });
  assert.deepEqual(nextHop(15n, 10n, [5n], "nearest"), { kind: "deliver" });
  assert.deepEqual(nextHop(MAX - 2n, 1n, [4n], "nearest"), { kind: "forward", next: 4n });
  assert.deepEqual(nextHop(HALF, 0n, [HALF + 1n], "nearest"), {
    kind: "forward",
    next: HALF + 1n,
  });
});

Deno.test("nextHop skips excluded candidates", () => {
  const exclude = new Set([90n]);
  assert.deepEqual(nextHop(10n, 100n, [90n, 80n], "exact", exclude), {
    kind: "forward",
    next: 80n,
  });
  assert.deepEqual(nextHop(85n, 100n, [90n, 80n], "nearest", exclude), { kind: "deliver" });
  assert.deepEqual(nextHop(85n, 100n, [90n, 80n], "exact", exclude), { kind: "unreachable" });
});

/** Addresses clustered around dst (mirrors and the far point) so ties are frequent. */
function tricky(rng: SeededRng, dst: OverlayAddress): OverlayAddress {
  const d = BigInt(rng.int(6));
  switch (rng.int(6)) {
    case 0:
      return addOffset(dst, d);
    case 1:
      return addOffset(dst, -d);
    case 2:
      return addOffset(dst, HALF + d - 3n);
    case 3:
      return addOffset(0n, BigInt(rng.int(4)) * (rng.int(2) ? 1n : -1n)); // around zero
    default:
      return randomAddress(rng);
  }
}

Deno.test("nextHop matches a brute-force sort on thousands of seeded cases", () => {
  const rng = new SeededRng(SEED);
  for (let i = 0; i < 5000; i++) {
    const dst = rng.int(2) ? randomAddress(rng) : tricky(rng, 0n);
    const self = tricky(rng, dst);
    const candidates = Array.from({ length: rng.int(12) }, () => tricky(rng, dst));
    const exclude = rng.int(3) === 0 && candidates.length > 0
      ? new Set([candidates[rng.int(candidates.length)]!])
      : undefined;
    const mode: RoutingMode = rng.int(2) ? "exact" : "nearest";
    const pool = [self, ...candidates.filter((c) => !exclude?.has(c) || c === self)];
    const best = pool.sort((a, b) => compareCloseness(dst, a, b))[0]!;
    const expected = best !== self
      ? { kind: "forward", next: best }
      : mode === "nearest" || dst === self
      ? { kind: "deliver" }
      : { kind: "unreachable" };
    assert.deepEqual(
      nextHop(self, dst, candidates, mode, exclude),
      expected,
      `seed ${SEED} case ${i}`,
    );
  }
});

/** Random graph: every node knows its ring successor and predecessor plus a few random others. */
function randomGraph(rng: SeededRng, n: number, extra: number) {
  const nodes = [...new Set(Array.from({ length: n }, () => tricky(rng, 0n)))];
  nodes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const links = new Map<OverlayAddress, Set<OverlayAddress>>();
  nodes.forEach((a, i) => {
    const s = new Set<OverlayAddress>();
    s.add(nodes[(i + 1) % nodes.length]!);
    s.add(nodes[(i - 1 + nodes.length) % nodes.length]!);
    for (let j = 0; j < extra; j++) s.add(nodes[rng.int(nodes.length)]!);
    s.delete(a);
    links.set(a, s);
  });
  return { nodes, links };
}

Deno.test("greedy forwarding with ring neighbours always terminates at the right node", () => {
  const rng = new SeededRng(SEED);
  let routes = 0;
  for (let g = 0; g < 60; g++) {
    const { nodes, links } = randomGraph(rng, 1 + rng.int(80), rng.int(4));
    for (let r = 0; r < 50; r++) {
      const mode: RoutingMode = rng.int(2) ? "exact" : "nearest";
      const dst = rng.int(2) ? nodes[rng.int(nodes.length)]! : tricky(rng, nodes[0]!);
      const nearest = nodes.slice().sort((a, b) => compareCloseness(dst, a, b))[0]!;
      let at = nodes[rng.int(nodes.length)]!;
      const seen = new Set<OverlayAddress>([at]);
      const ctx = `seed ${SEED} graph ${g} route ${r}`;
      for (;;) {
        const d = nextHop(at, dst, links.get(at)!, mode);
        if (d.kind === "forward") {
          assert.ok(!seen.has(d.next), `revisited a node: ${ctx}`);
          assert.ok(compareCloseness(dst, d.next, at) < 0, ctx);
          seen.add(d.next);
          at = d.next;
          continue;
        }
        assert.equal(at, nearest, ctx);
        if (mode === "nearest" || dst === nearest) assert.equal(d.kind, "deliver", ctx);
        else assert.equal(d.kind, "unreachable", ctx);
        routes++;
        break;
      }
    }
  }
  assert.equal(routes, 3000);
});
