import assert from "node:assert/strict";
import {
  checkRing,
  clockwiseDistance,
  RING_MODULUS,
  type RingNodeView,
} from "../helpers/ring_check.ts";

/** The 40-hex address of number `n`. */
function addr(n: bigint): string {
  return n.toString(16).padStart(40, "0");
}

const TOP = RING_MODULUS - 1n;
/** Five addresses spread over the ring, including both ends (wrap-around). */
const NODES = [0n, 5n, 1n << 100n, 1n << 159n, TOP].map(addr);

/** Every node connected to exactly its two true ring neighbours (plus `extra(i)`). */
function perfectViews(nodes: string[], extra: (i: number) => string[] = () => []): RingNodeView[] {
  return nodes.map((a, i) => ({
    address: a,
    connections: [
      nodes[(i + 1) % nodes.length]!,
      nodes[(i - 1 + nodes.length) % nodes.length]!,
      ...extra(i),
    ].map((address) => ({ address })),
  }));
}

Deno.test("clockwiseDistance wraps around the top of the ring", () => {
  assert.equal(clockwiseDistance(TOP, 0n), 1n);
  assert.equal(clockwiseDistance(0n, TOP), TOP);
  assert.equal(clockwiseDistance(7n, 7n), 0n);
});

Deno.test("checkRing accepts nodes linked to their true neighbours, across the wrap", () => {
  const r = checkRing(perfectViews(NODES).reverse());
  assert.equal(r.consistent, true, JSON.stringify(r.problems));
  assert.deepEqual(r.ring, NODES);
});

Deno.test("checkRing ignores far connections that are not nearer than the neighbours", () => {
  const r = checkRing(perfectViews(NODES, (i) => [NODES[(i + 2) % NODES.length]!]));
  assert.equal(r.consistent, true, JSON.stringify(r.problems));
});

Deno.test("checkRing reports a node whose successor link is missing", () => {
  const views = perfectViews(NODES);
  // Node TOP loses its link to its successor 0 (across the wrap): nearest clockwise is now 5.
  views[4] = { address: NODES[4]!, connections: [{ address: NODES[3]! }, { address: NODES[1]! }] };
  const r = checkRing(views);
  assert.equal(r.consistent, false);
  assert.deepEqual(r.problems, [{
    address: NODES[4],
    expectedSuccessor: NODES[0],
    actualSuccessor: NODES[1],
    expectedPredecessor: NODES[3],
    actualPredecessor: NODES[3],
    successorKind: null,
    predecessorKind: null,
  }]);
});

Deno.test("checkRing reports a wrong predecessor and a node with no connections", () => {
  const views = perfectViews(NODES);
  views[0] = { address: NODES[0]!, connections: [] };
  const r = checkRing(views);
  assert.equal(r.consistent, false);
  assert.deepEqual(r.problems.map((p) => p.address), [NODES[0]]);
  assert.equal(r.problems[0]!.actualSuccessor, null);
  assert.equal(r.problems[0]!.actualPredecessor, null);
});

Deno.test("checkRing skips connections to nodes that are not live", () => {
  // A dead node at 3 sits between 0 and 5: node 0 still links to it, which must not count.
  const views = perfectViews(NODES, (i) => (i === 0 ? [addr(3n)] : []));
  const ok = checkRing(views);
  assert.equal(ok.consistent, true);
  assert.deepEqual(ok.stale, [{ address: NODES[0], peer: addr(3n) }]);
  assert.deepEqual(checkRing(perfectViews(NODES)).stale, []);
  // But if 0 lost its link to 5 and kept only the dead one, it is inconsistent.
  views[0] = { address: NODES[0]!, connections: [{ address: addr(3n) }, { address: NODES[4]! }] };
  const r = checkRing(views);
  assert.deepEqual(r.problems.map((p) => [p.address, p.actualSuccessor]), [[NODES[0], NODES[4]]]);
});

Deno.test("checkRing needs the same node on both sides when only two are live", () => {
  const two = [addr(1n), addr(2n)];
  assert.equal(checkRing(perfectViews(two)).consistent, true);
  const r = checkRing([{ address: two[0]!, connections: [] }, {
    address: two[1]!,
    connections: [{ address: two[0]! }],
  }]);
  assert.deepEqual(r.problems.map((p) => p.address), [two[0]]);
});

Deno.test("checkRing treats a lone node as consistent and reads hex case-insensitively", () => {
  assert.equal(checkRing([{ address: "AB".repeat(20), connections: [] }]).consistent, true);
  const upper = perfectViews(NODES.map((a) => a.toUpperCase()));
  const r = checkRing(upper);
  assert.equal(r.consistent, true);
  assert.deepEqual(r.ring, NODES);
});

Deno.test("checkRing rejects malformed and duplicate addresses", () => {
  assert.throws(() => checkRing([{ address: "xyz", connections: [] }]), TypeError);
  assert.throws(
    () => checkRing([{ address: addr(1n), connections: [{ address: "12" }] }]),
    TypeError,
  );
  assert.throws(
    () =>
      checkRing([{ address: addr(1n), connections: [] }, { address: addr(1n), connections: [] }]),
    TypeError,
  );
});

Deno.test("checkRing with neighbourKind needs the neighbour links to be of that kind", () => {
  const views = perfectViews(NODES).map((v) => ({
    address: v.address,
    connections: v.connections.map((c) => ({ address: c.address, kind: "near" })),
  }));
  assert.equal(checkRing(views, { neighbourKind: "near" }).consistent, true);
  views[2]!.connections[0]!.kind = "far"; // node 2's successor link
  const r = checkRing(views, { neighbourKind: "near" });
  assert.deepEqual(r.problems.map((p) => [p.address, p.successorKind, p.predecessorKind]), [
    [NODES[2], "far", "near"],
  ]);
  assert.equal(checkRing(views).consistent, true);
});
