import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { blake2sMac } from "../../lib/crypto/blake2s.ts";
import { DhtStatus } from "../../lib/dht/dht_message.ts";
import { type DhtRecord, signRecord, type UnsignedRecord } from "../../lib/dht/dht_record.ts";
import { RecordStore, type StoreOp } from "../../lib/dht/record_store.ts";

const SEED = Deno.env.get("SEED") ?? "record-store";
const enc = new TextEncoder();
const T0 = 1_700_000_000_000;
const KEY = enc.encode("host/alpha");
const A = new Uint8Array(32).fill(0xaa);
const B = new Uint8Array(32).fill(0xbb);

/** Fake signature: two keyed BLAKE2s MACs keyed by the public key (tests only). */
function fakeSignature(owner: Uint8Array, message: Uint8Array): Uint8Array {
  const sig = new Uint8Array(64);
  sig.set(blake2sMac(owner, Uint8Array.of(1, ...message)), 0);
  sig.set(blake2sMac(owner, Uint8Array.of(2, ...message)), 32);
  return sig;
}
const verify = (owner: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
  fakeSignature(owner, message).toHex() === signature.toHex();

function rec(owner: Uint8Array, seq: number, over: Partial<UnsignedRecord> = {}): DhtRecord {
  const fields: UnsignedRecord = {
    key: KEY,
    value: over.deleted ? new Uint8Array(0) : enc.encode(`v${seq}`),
    owner,
    ttlSeconds: 60,
    seq,
    deleted: false,
    ...over,
  };
  return signRecord(fields, (m) => fakeSignature(owner, m));
}
const tomb = (owner: Uint8Array, seq: number, over: Partial<UnsignedRecord> = {}) =>
  rec(owner, seq, { deleted: true, ...over });
const values = (rs: DhtRecord[]) => rs.map((r) => new TextDecoder().decode(r.value)).sort();

Deno.test("create is first-writer-wins: a second owner gets Taken with the holder's record", () => {
  const s = new RecordStore({ verify });
  assert.equal(s.apply("create", rec(A, 1), T0).status, DhtStatus.Ok);
  const taken = s.apply("create", rec(B, 5), T0 + 1);
  assert.equal(taken.status, DhtStatus.Taken);
  assert.deepEqual(taken.records, [rec(A, 1)]);
  assert.deepEqual(values(s.get(KEY, T0 + 2)), ["v1"]);
  assert.equal(s.size, 1);
});

Deno.test("only the owner can renew or delete; another owner's renew is Taken", () => {
  const s = new RecordStore({ verify });
  s.apply("create", rec(A, 1), T0);
  assert.equal(s.apply("renew", rec(B, 2), T0).status, DhtStatus.Taken);
  assert.equal(s.apply("renew", rec(A, 2, { ttlSeconds: 120 }), T0 + 50_000).status, DhtStatus.Ok);
  assert.deepEqual(values(s.get(KEY, T0 + 100_000)), ["v2"], "renewal extends the expiry");
  assert.equal(s.apply("delete", tomb(B, 3), T0).status, DhtStatus.Ok, "B's own tombstone");
  assert.deepEqual(values(s.get(KEY, T0 + 1)), ["v2"], "B's delete leaves A's record alone");
  assert.equal(s.apply("delete", tomb(A, 3), T0 + 2).status, DhtStatus.Ok);
  assert.deepEqual(s.get(KEY, T0 + 3), []);
  assert.equal(s.apply("create", rec(B, 4), T0 + 4).status, DhtStatus.Ok, "free after delete");
  assert.deepEqual(values(s.get(KEY, T0 + 5)), ["v4"]);
});

Deno.test("a lower seq is Rejected; the same seq is Ok only for identical bytes", () => {
  const s = new RecordStore({ verify });
  assert.equal(s.apply("put", rec(A, 10), T0).status, DhtStatus.Ok);
  assert.equal(s.apply("put", rec(A, 9), T0).status, DhtStatus.Rejected);
  assert.equal(s.apply("put", rec(A, 10), T0 + 5).status, DhtStatus.Ok, "retransmit");
  assert.equal(s.remainingMs(rec(A, 10), T0 + 5), 60_000 - 5, "a retransmit keeps the expiry");
  const other = rec(A, 10, { value: enc.encode("other") });
  assert.equal(s.apply("put", other, T0).status, DhtStatus.Rejected);
  assert.equal(s.apply("create", rec(A, 9), T0).status, DhtStatus.Rejected);
  assert.equal(s.apply("delete", tomb(A, 9), T0).status, DhtStatus.Rejected);
  assert.deepEqual(values(s.get(KEY, T0)), ["v10"]);
  assert.equal(s.apply("delete", tomb(A, 11), T0).status, DhtStatus.Ok);
  assert.equal(s.apply("put", rec(A, 10), T0).status, DhtStatus.Rejected, "no resurrection");
  assert.deepEqual(s.get(KEY, T0), []);
});

Deno.test("bad signatures, a refusing verifier and op/tombstone mismatches are Rejected", () => {
  const s = new RecordStore({ verify });
  const forged = { ...rec(A, 1), value: enc.encode("forged") };
  assert.equal(s.apply("put", forged, T0).status, DhtStatus.Rejected);
  assert.equal(s.apply("create", { ...rec(A, 1), owner: B }, T0).status, DhtStatus.Rejected);
  assert.equal(
    s.apply("delete", rec(A, 1), T0).status,
    DhtStatus.Rejected,
    "delete needs a tombstone",
  );
  for (const op of ["put", "create", "renew"] as StoreOp[]) {
    assert.equal(s.apply(op, tomb(A, 1), T0).status, DhtStatus.Rejected, op);
  }
  assert.equal(s.apply("put", { ...rec(A, 1), ttlSeconds: 0 }, T0).status, DhtStatus.Rejected);
  assert.equal(s.accept(forged, 1000, T0), false);
  const refusing = new RecordStore({ verify: () => false });
  assert.equal(refusing.apply("put", rec(A, 1), T0).status, DhtStatus.Rejected);
  assert.equal(refusing.accept(rec(A, 1), 1000, T0), false);
  assert.equal(s.size + refusing.size, 0);
});

Deno.test("put allows several owners up to maxOwnersPerKey, then Full", () => {
  const s = new RecordStore({ verify, maxOwnersPerKey: 3 });
  const owners = [1, 2, 3, 4].map((n) => new Uint8Array(32).fill(n));
  for (const o of owners.slice(0, 3)) {
    assert.equal(s.apply("put", rec(o, o[0]!), T0).status, DhtStatus.Ok);
  }
  assert.equal(s.apply("put", rec(owners[3]!, 4), T0).status, DhtStatus.Full);
  assert.equal(s.apply("put", rec(owners[0]!, 9), T0).status, DhtStatus.Ok, "replacing is not new");
  assert.deepEqual(values(s.get(KEY, T0)), ["v2", "v3", "v9"]);
  assert.equal(
    s.apply("put", rec(owners[3]!, 4), T0 + 60_000).status,
    DhtStatus.Ok,
    "after expiry",
  );
  assert.equal(s.size, 1);
});

Deno.test("a full store refuses new entries until expired ones are swept", () => {
  const s = new RecordStore({ verify, maxRecords: 2 });
  assert.equal(s.apply("put", rec(A, 1, { key: enc.encode("k1"), ttlSeconds: 10 }), T0).status, 0);
  assert.equal(s.apply("delete", tomb(A, 1, { key: enc.encode("k2") }), T0).status, 0);
  const third = rec(A, 1, { key: enc.encode("k3") });
  assert.equal(s.apply("put", third, T0 + 9_999).status, DhtStatus.Full, "tombstones count");
  assert.equal(s.accept(third, 1000, T0), false);
  assert.equal(s.apply("put", rec(A, 2, { key: enc.encode("k1") }), T0).status, DhtStatus.Ok);
  assert.equal(
    s.apply("put", rec(A, 3, { key: enc.encode("k1"), ttlSeconds: 10 }), T0 + 1).status,
    0,
  );
  assert.equal(s.apply("put", third, T0 + 10_001).status, DhtStatus.Ok, "k1 expired, room made");
  assert.equal(s.size, 2);
  assert.throws(() => new RecordStore({ verify, maxRecords: 0 }), RangeError);
  assert.throws(() => new RecordStore({ verify, maxOwnersPerKey: 1.5 }), RangeError);
});

Deno.test("records expire after their ttl and sweep removes them", () => {
  const s = new RecordStore({ verify });
  s.apply("put", rec(A, 1, { ttlSeconds: 10 }), T0);
  s.apply("put", rec(B, 1, { ttlSeconds: 20 }), T0);
  s.apply("delete", tomb(A, 1, { key: enc.encode("gone"), ttlSeconds: 5 }), T0);
  assert.equal(s.get(KEY, T0 + 9_999).length, 2);
  assert.deepEqual(values(s.get(KEY, T0 + 10_000)), ["v1"]);
  assert.equal(s.remainingMs(rec(B, 1), T0 + 15_000), 5_000);
  assert.equal(s.remainingMs(rec(B, 1), T0 + 25_000), 0);
  assert.equal(s.remainingMs(rec(A, 1, { key: enc.encode("none") }), T0), 0);
  assert.equal([...s.entries(T0 + 4_999)].length, 2, "the get at +10 s dropped A's expired entry");
  assert.equal(s.size, 2);
  assert.equal(s.sweep(T0 + 5_000), 1);
  assert.equal(s.sweep(T0 + 5_000), 0);
  assert.equal(s.sweep(T0 + 20_000), 1);
  assert.equal(s.size, 0);
  assert.deepEqual([...s.entries(T0)], []);
});

Deno.test("entries lists live records and tombstones with their expiry", () => {
  const s = new RecordStore({ verify });
  s.apply("put", rec(A, 1), T0);
  s.apply("delete", tomb(B, 2), T0 + 1000);
  const got = [...s.entries(T0 + 2000)].map((e) => [e.record.deleted, e.expiresAt]);
  assert.deepEqual(got.sort(), [[false, T0 + 60_000], [true, T0 + 61_000]]);
  assert.deepEqual([...s.entries(T0 + 60_000)].map((e) => e.record.deleted), [true]);
});

Deno.test("a tombstone blocks an older handoff of the deleted record", () => {
  const s = new RecordStore({ verify });
  s.apply("create", rec(A, 1), T0);
  s.apply("delete", tomb(A, 2), T0);
  assert.equal(s.accept(rec(A, 1), 30_000, T0 + 1), false);
  assert.deepEqual(s.get(KEY, T0 + 1), []);
  assert.equal(s.accept(rec(A, 3), 30_000, T0 + 1), true, "a newer record replaces it");
  assert.deepEqual(values(s.get(KEY, T0 + 1)), ["v3"]);
});

Deno.test("a handoff never joins another owner's live record, and expires at the lesser ttl", () => {
  const s = new RecordStore({ verify });
  s.apply("create", rec(A, 1), T0);
  assert.equal(s.accept(rec(B, 9), 30_000, T0), false);
  assert.equal(s.accept(tomb(B, 9), 30_000, T0), true, "tombstones conflict with nobody");
  assert.equal(s.accept(rec(A, 1), 30_000, T0), true, "already held byte for byte");
  assert.equal(s.remainingMs(rec(A, 1), T0), 60_000, "and its expiry is unchanged");
  assert.equal(s.accept(rec(A, 2), 30_000, T0), true);
  assert.equal(s.remainingMs(rec(A, 2), T0), 30_000, "remaining ttl below the record's");
  assert.equal(s.accept(rec(A, 3), 900_000, T0), true);
  assert.equal(s.remainingMs(rec(A, 3), T0), 60_000, "capped at the record's ttl");
  assert.equal(s.accept(rec(A, 4), 0, T0), false);
  assert.equal(s.accept(rec(A, 4), Number.NaN, T0), false);
  const fresh = new RecordStore({ verify });
  assert.equal(fresh.accept(rec(B, 9), 30_000, T0), true);
  assert.equal(fresh.apply("create", rec(A, 1), T0).status, DhtStatus.Taken);
  assert.equal(fresh.accept(rec(A, 1), 30_000, T0 + 30_000), true, "B's copy expired");
});

Deno.test("random operations never throw and never exceed the bounds", () => {
  const rng = new SeededRng(SEED);
  const maxRecords = 40;
  const maxOwnersPerKey = 3;
  const s = new RecordStore({ verify, maxRecords, maxOwnersPerKey });
  const owners = [1, 2, 3, 4, 5].map((n) => new Uint8Array(32).fill(n));
  const ops: StoreOp[] = ["put", "create", "renew", "delete"];
  let now = T0;
  try {
    for (let i = 0; i < 2000; i++) {
      now += rng.uint32() % 2000;
      const op = ops[rng.uint32() % 4]!;
      const owner = owners[rng.uint32() % owners.length]!;
      const r = rec(owner, rng.uint32() % 50, {
        key: enc.encode(`k${rng.uint32() % 30}`),
        ttlSeconds: 1 + (rng.uint32() % 60),
        deleted: op === "delete",
      });
      if (rng.uint32() % 4 === 0) {
        s.accept(r, rng.uint32() % 90_000, now);
      } else {
        const { status, records } = s.apply(op, r, now);
        const live = s.get(r.key, now);
        if (status === DhtStatus.Ok && op !== "delete") {
          assert.ok(live.some((x) => x.owner[0] === owner[0] && x.seq === r.seq), "stored");
        }
        if (status === DhtStatus.Ok && (op === "create" || op === "renew")) {
          assert.ok(live.every((x) => x.owner[0] === owner[0]), "create/renew Ok means sole owner");
        }
        if (status === DhtStatus.Ok && op === "delete") {
          assert.ok(live.every((x) => x.owner[0] !== owner[0]), "deleted");
        }
        if (status === DhtStatus.Taken) {
          assert.ok(records.length > 0 && records.every((x) => x.owner[0] !== owner[0]));
        }
      }
      assert.ok(s.size <= maxRecords);
      assert.ok(s.get(r.key, now).length <= maxOwnersPerKey);
    }
  } catch (e) {
    console.error(`SEED=${SEED}`);
    throw e;
  }
});
