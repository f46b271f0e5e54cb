/**
 * DHCP over the DHT in the simulator: the invariant checker against hand-made worlds, and a
 * small full run (60 nodes, a minute of churn). `SEED=n` replays a run; the seed is printed on
 * failure.
 */
import assert from "node:assert/strict";
import { loadFastAead } from "../../ffi/fast_aead.ts";
import { loadFastX25519 } from "../../ffi/sodium_x25519.ts";
import type { Lease, LeaseState } from "../../lib/dhcp/lease_client.ts";
import { parseSubnet } from "../../lib/dhcp/subnet.ts";
import type { DhtRecord } from "../../lib/dht/dht_record.ts";
import { formatDhcpTable } from "../../bench/sim/dhcp_report.ts";
import { DEFAULT_DHCP_SIM_OPTIONS, runDhcpSimulation } from "../../bench/sim/dhcp_run.ts";
import {
  type CheckedHost,
  type CheckedNode,
  type CheckedWorld,
  LeaseChecker,
} from "../../bench/sim/lease_checker.ts";

const SEED = Number(Deno.env.get("SEED") ?? 1);
const BASE_IP = 0x64400000; // 100.64.0.0

/** A world of `n` live hosts whose leases the test sets by hand. */
function fakeWorld(n: number) {
  let now = 0;
  const live: CheckedHost[] = [];
  const nodes = new Map<bigint, CheckedNode & { lease: FakeLease }>();
  for (let i = 0; i < n; i++) {
    const host = { index: i, address: BigInt(i + 1), startedAtMs: 0 };
    live.push(host);
    nodes.set(host.address, {
      lease: new FakeLease(),
      dht: { store: { get: (): DhtRecord[] => [] } },
    });
  }
  const world: CheckedWorld = {
    live,
    clock: { now: () => now },
    liveByAddress: (a) => live.find((h) => h.address === a),
  };
  const lease = (i: number) => nodes.get(BigInt(i + 1))!.lease;
  return { world, nodes, lease, advance: (ms: number) => void (now += ms) };
}

class FakeLease {
  lease: Lease | null = null;
  boundAt = -1;
  state: LeaseState = "claiming";
  bind(ip: number, at: number): void {
    this.lease = { ip, prefix: 16, expiresAt: at + 120_000 };
    if (this.boundAt < 0) this.boundAt = at;
    this.state = "bound";
  }
}

Deno.test("lease checker counts duplicate seconds, lost and changed leases", () => {
  const w = fakeWorld(4);
  const checker = new LeaseChecker(w.world, w.nodes, "sim");
  w.lease(0).bind(BASE_IP + 2, 0);
  w.lease(1).bind(BASE_IP + 3, 0);
  w.lease(2).bind(BASE_IP + 4, 0);
  let s = checker.check();
  assert.deepEqual([s.live, s.bound, s.distinct, s.duplicates], [4, 3, 3, 0]);

  w.advance(1000);
  w.lease(3).bind(BASE_IP + 2, 1000); // the same address as host 0
  w.lease(1).bind(BASE_IP + 9, 1000); // host 1 moves
  w.lease(2).lease = null; // host 2 loses its lease
  s = checker.check();
  assert.deepEqual([s.bound, s.distinct, s.duplicates], [3, 2, 1]);
  w.advance(1000);
  checker.check();
  const t = checker.totals;
  assert.equal(t.checks, 3);
  assert.equal(t.duplicateChecks, 2);
  assert.equal(t.maxDuplicates, 1);
  assert.equal(t.duplicatedIps, 1);
  assert.equal(t.lostNodes, 1, "a lost node counts once");
  assert.equal(t.changedNodes, 1, "a changed node counts once");
  assert.equal(t.incidents.length, 3);
  assert.equal(checker.firstBoundAt(w.world.live[3]!), 1000);
  assert.equal(checker.firstBoundAt(w.world.live[2]!), 0, "kept after the lease is lost");
  assert.match(t.incidents.join("\n"), /duplicate: 100\.64\.0\.2 held by host#0 .*host#3/);
  assert.match(t.incidents.join("\n"), /changed: host#1 moved from 100\.64\.0\.3 to 100\.64\.0\.9/);
});

Deno.test("lease checker peek() reports without counting", () => {
  const w = fakeWorld(2);
  const checker = new LeaseChecker(w.world, w.nodes, "sim");
  w.lease(0).bind(BASE_IP + 2, 0);
  w.lease(1).bind(BASE_IP + 2, 0);
  assert.equal(checker.peek().duplicates, 1);
  assert.equal(checker.totals.checks, 0);
  assert.equal(checker.totals.duplicateChecks, 0);
});

Deno.test("60 nodes claim distinct addresses at once and keep them through a minute of churn", () => {
  const r = runDhcpSimulation({
    ...DEFAULT_DHCP_SIM_OPTIONS,
    nodes: 60,
    seed: SEED,
    churn: 0.1,
    durationMs: 60_000,
    maxConvergeMs: 60_000,
    subnet: parseSubnet("100.64.0.0/16"),
    aead: loadFastAead(),
    x25519: loadFastX25519(),
  });
  try {
    assert.equal(r.errors, 0, "node code threw");
    assert.notEqual(r.converge_s, null, "ring consistent before the claim");
    assert.equal(r.claim_bound, 60, "every node bound after the simultaneous claim");
    assert.equal(r.claim_distinct, 60, "distinct addresses");
    assert.ok(r.churn_joined! >= 5, `churn events: ${r.churn_joined}`);
    assert.ok(r.checks >= 90, `one check per virtual second (${r.checks})`);
    assert.equal(r.duplicate_seconds, 0, "no address held twice");
    assert.equal(r.lost_nodes, 0, "no bound node lost its lease");
    assert.equal(r.changed_nodes, 0, "no bound node changed its address");
    assert.equal(r.churn_joined_unbound, 0, "every churn-joined node got a lease");
    assert.ok(r.join_to_lease.count > 0, "join-to-lease times measured");
    assert.equal(r.final_bound, r.final_live, "all bound at the end");
    assert.equal(r.final_distinct, r.final_live);
    assert.ok(r.dht_msgs_per_node_s > 0, "DHT traffic counted");
  } catch (e) {
    console.error(`SEED=${SEED}\n${formatDhcpTable(r)}`);
    throw e;
  }
});
