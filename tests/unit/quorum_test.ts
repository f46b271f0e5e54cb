import assert from "node:assert/strict";
import { DhtStatus, type HeldRecord } from "../../lib/dht/dht_message.ts";
import type { DhtRecord } from "../../lib/dht/dht_record.ts";
import {
  decideGet,
  decideWrite,
  newestPerOwner,
  type ReplicaAnswer,
} from "../../lib/dht/quorum.ts";
import { majorityOf } from "../../lib/dht/replica_set.ts";

const enc = new TextEncoder();

/** A record of owner `owner` (one byte, repeated) at `seq`; the signature is never checked. */
function rec(owner: number, seq: number): DhtRecord {
  return {
    key: enc.encode("ip/ipop/100.64.0.9"),
    value: Uint8Array.of(owner, seq & 0xff),
    owner: new Uint8Array(32).fill(owner),
    ttlSeconds: 120,
    seq,
    deleted: false,
    signature: new Uint8Array(64).fill(seq & 0xff),
  };
}

function held(owner: number, seq: number, remainingMs = 60_000): HeldRecord {
  return { record: rec(owner, seq), remainingMs };
}

function answer(status: DhtStatus, records: HeldRecord[] = []): ReplicaAnswer {
  return { status, records };
}

const ok = (...records: HeldRecord[]) => answer(DhtStatus.Ok, records);
const none = () => ok();

/** "owner:seq" of each record, sorted: order of the outcome's records does not matter. */
function versions(records: readonly HeldRecord[]): string[] {
  return records.map((h) => `${h.record.owner[0]}:${h.record.seq}`).sort();
}

/** Every ordering of `items` (small arrays only). */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  const out: T[][] = [];
  items.forEach((item, i) => {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) out.push([item, ...p]);
  });
  return out;
}

Deno.test("majorityOf gives floor(R/2)+1 for R = 1..7", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majorityOf), [1, 2, 2, 3, 3, 4, 4]);
});

Deno.test("a write succeeds exactly when a majority of R replicas stored it, for R = 1..7", () => {
  for (let r = 1; r <= 7; r++) {
    for (let oks = 0; oks <= r; oks++) {
      const answers = [
        ...Array.from({ length: oks }, () => answer(DhtStatus.Ok)),
        ...Array.from({ length: r - oks }, () => answer(DhtStatus.Rejected)),
      ];
      const want = 2 * oks > r ? DhtStatus.Ok : DhtStatus.Rejected;
      assert.equal(decideWrite(r, answers).status, want, `R=${r} oks=${oks}`);
      // Missing answers (timeouts) count as no: the same oks without the refusals.
      const silent = decideWrite(r, answers.slice(0, oks)).status;
      assert.equal(silent, 2 * oks > r ? DhtStatus.Ok : DhtStatus.NoQuorum, `R=${r} oks=${oks}`);
    }
  }
});

Deno.test("a successful write reports Ok with no records even when a minority refused", () => {
  const out = decideWrite(5, [
    answer(DhtStatus.Ok),
    answer(DhtStatus.Taken, [held(2, 9)]),
    answer(DhtStatus.Ok),
    answer(DhtStatus.Full),
    answer(DhtStatus.Ok),
  ]);
  assert.deepEqual(out, { status: DhtStatus.Ok, records: [] });
});

Deno.test("a failed write reports taken before full before rejected before noQuorum", () => {
  const T = () => answer(DhtStatus.Taken, [held(2, 9)]);
  const F = () => answer(DhtStatus.Full);
  const X = () => answer(DhtStatus.Rejected);
  const O = () => answer(DhtStatus.Ok);
  const cases: [ReplicaAnswer[], DhtStatus][] = [
    [[O(), O(), X(), F(), T()], DhtStatus.Taken],
    [[T(), F(), X()], DhtStatus.Taken],
    [[X(), X(), X(), X(), T()], DhtStatus.Taken],
    [[O(), X(), F()], DhtStatus.Full],
    [[X(), X(), F()], DhtStatus.Full],
    [[O(), O(), X()], DhtStatus.Rejected],
    [[O(), O()], DhtStatus.NoQuorum],
    [[], DhtStatus.NoQuorum],
  ];
  for (const [answers, want] of cases) {
    for (const order of permutations(answers)) {
      assert.equal(decideWrite(5, order).status, want, `answers ${answers.map((a) => a.status)}`);
    }
  }
});

Deno.test("taken carries the newest record of each other owner the replicas reported", () => {
  const out = decideWrite(5, [
    answer(DhtStatus.Taken, [held(2, 7)]),
    answer(DhtStatus.Taken, [held(2, 9), held(3, 1)]),
    answer(DhtStatus.Taken, [held(2, 8)]),
    answer(DhtStatus.Ok),
    answer(DhtStatus.Rejected),
  ]);
  assert.equal(out.status, DhtStatus.Taken);
  assert.deepEqual(versions(out.records), ["2:9", "3:1"]);
  // A failure other than taken carries no records.
  assert.deepEqual(decideWrite(3, [answer(DhtStatus.Full, [held(2, 1)])]).records, []);
});

Deno.test("a get with no answers is noQuorum; answers without records give notFound", () => {
  assert.deepEqual(decideGet([]), { status: DhtStatus.NoQuorum, records: [] });
  assert.deepEqual(decideGet([none(), none(), none()]), {
    status: DhtStatus.NotFound,
    records: [],
  });
  const one = decideGet([ok(held(1, 5))]);
  assert.equal(one.status, DhtStatus.Ok);
  assert.deepEqual(versions(one.records), ["1:5"]);
});

Deno.test("a get finds a record any answering replica holds: empty replicas cannot hide it", () => {
  for (let n = 1; n <= 7; n++) {
    for (let k = 0; k <= n; k++) {
      const answers = [
        ...Array.from({ length: k }, () => ok(held(1, 5))),
        ...Array.from({ length: n - k }, none),
      ];
      const out = decideGet(answers);
      assert.equal(out.status, k > 0 ? DhtStatus.Ok : DhtStatus.NotFound, `n=${n} k=${k}`);
      assert.deepEqual(versions(out.records), k > 0 ? ["1:5"] : [], `n=${n} k=${k}`);
    }
  }
});

Deno.test("a get leaves out an owner whose newest version is a tombstone", () => {
  const tomb: HeldRecord = { record: { ...rec(1, 9), deleted: true }, remainingMs: 60_000 };
  // Four replicas missed the delete; one holding it is enough.
  const answers = [ok(held(1, 5)), ok(held(1, 5)), ok(tomb), ok(held(1, 5)), ok(held(1, 5))];
  for (const order of permutations(answers)) {
    assert.equal(decideGet(order).status, DhtStatus.NotFound);
  }
  // A tombstone older than the record (deleted, then claimed again) does not hide it.
  const again = decideGet([ok({ ...tomb, record: { ...tomb.record, seq: 3 } }), ok(held(1, 5))]);
  assert.deepEqual(versions(again.records), ["1:5"]);
});

Deno.test("a get lists the most-vouched owner first (the winner of a claim race)", () => {
  // Owner 2's create reached one replica before it lost; owner 1 holds the other four.
  const answers = [ok(held(1, 5)), ok(held(2, 3)), ok(held(1, 5)), ok(held(1, 5)), none()];
  for (const order of permutations(answers)) {
    assert.deepEqual(decideGet(order).records.map((h) => h.record.owner[0]), [1, 2]);
  }
});

Deno.test("a get returns the newest version per owner, its remainingMs the longest reported", () => {
  // Every replica holds the new version: it wins, with the longest remaining lifetime.
  const renewed = decideGet([
    ok(held(1, 9, 10_000)),
    ok(held(1, 9, 30_000)),
    ok(held(1, 9, 20_000)),
  ]);
  assert.deepEqual(versions(renewed.records), ["1:9"]);
  assert.equal(renewed.records[0]!.remainingMs, 30_000);

  // A renew that reached a majority (3 of 5): the new version, in any answer order.
  const answers = [
    ok(held(1, 5, 90_000)),
    ok(held(1, 5, 90_000)),
    ok(held(1, 9, 40_000)),
    ok(held(1, 9, 50_000)),
    ok(held(1, 9, 45_000)),
  ];
  for (const order of permutations(answers)) {
    const out = decideGet(order);
    assert.equal(out.status, DhtStatus.Ok);
    assert.deepEqual(versions(out.records), ["1:9"]);
    assert.equal(out.records[0]!.remainingMs, 50_000, "longest among the winning version");
  }
});

Deno.test("a get returns each owner's newest version whatever the answer order", () => {
  // A renew that reached one replica before it failed is still the owner's newest version.
  const answers = [ok(held(1, 9)), ok(held(1, 5)), ok(held(1, 5)), ok(held(1, 5)), none()];
  const seen = new Set<string>();
  for (const order of permutations(answers)) {
    const out = decideGet(order);
    seen.add(`${out.status} ${versions(out.records).join(",")}`);
  }
  assert.deepEqual([...seen], [`${DhtStatus.Ok} 1:9`]);
});

Deno.test("a get orders equally vouched owners oldest first, then by owner", () => {
  const answers = [
    ok(held(3, 1), held(1, 2)),
    ok(held(1, 2), held(2, 4)),
    ok(held(2, 4), held(3, 1)),
  ];
  for (const order of permutations(answers)) {
    const out = decideGet(order);
    assert.deepEqual(out.records.map((h) => h.record.owner[0]), [3, 1, 2]);
  }
});

Deno.test("a replica's own duplicates count once: newestPerOwner keeps the highest seq", () => {
  const newest = newestPerOwner([held(1, 3), held(2, 1), held(1, 7), held(1, 5)]);
  assert.deepEqual(versions(newest), ["1:7", "2:1"]);
  // One replica reporting the same record twice is one vote.
  const out = decideGet([ok(held(1, 5), held(1, 5)), ok(held(2, 5)), ok(held(2, 5))]);
  assert.deepEqual(out.records.map((h) => h.record.owner[0]), [2, 1]);
});
