import assert from "node:assert/strict";
import { blake2s } from "@noble/hashes/blake2.js";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { blake2sMac } from "../../lib/crypto/blake2s.ts";
import { addressFromBytes, RING_SIZE } from "../../lib/overlay/address.ts";
import {
  decodeRecord,
  dhtKeyPosition,
  type DhtRecord,
  encodeRecord,
  MAX_KEY_BYTES,
  MAX_RECORD_BYTES,
  MAX_SEQ,
  MAX_TTL_SECONDS,
  MAX_VALUE_BYTES,
  MIN_RECORD_BYTES,
  recordsEqual,
  recordSignedBytes,
  recordWireBytes,
  signRecord,
  type UnsignedRecord,
  verifyRecord,
} from "../../lib/dht/dht_record.ts";

const SEED = Deno.env.get("SEED") ?? "dht-record";
const enc = new TextEncoder();

/** Fake signature: two keyed BLAKE2s MACs keyed by the public key (tests only). */
function fakeSignature(owner: Uint8Array, message: Uint8Array): Uint8Array {
  const sig = new Uint8Array(64);
  sig.set(blake2sMac(owner, Uint8Array.of(1, ...message)), 0);
  sig.set(blake2sMac(owner, Uint8Array.of(2, ...message)), 32);
  return sig;
}
const fakeVerify = (owner: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
  fakeSignature(owner, message).toHex() === signature.toHex();

function record(over: Partial<UnsignedRecord> = {}): DhtRecord {
  const fields: UnsignedRecord = {
    key: enc.encode("host/alpha"),
    value: enc.encode("100.64.0.7"),
    owner: new Uint8Array(32).fill(7),
    ttlSeconds: 3600,
    seq: 1_700_000_000_123,
    deleted: false,
    ...over,
  };
  return signRecord(fields, (m) => fakeSignature(fields.owner, m));
}

Deno.test("records round-trip, including a tombstone and the largest record", () => {
  const cases = [
    record(),
    record({ deleted: true, value: new Uint8Array(0), seq: 0, ttlSeconds: 1 }),
    record({
      key: new Uint8Array(MAX_KEY_BYTES).fill(0xab),
      value: new Uint8Array(MAX_VALUE_BYTES).fill(0xcd),
      seq: MAX_SEQ,
      ttlSeconds: MAX_TTL_SECONDS,
    }),
  ];
  for (const r of cases) {
    const bytes = encodeRecord(r);
    assert.equal(bytes.length, recordWireBytes(r));
    const got = decodeRecord(bytes, 0);
    assert.ok(got !== null);
    assert.equal(got.end, bytes.length);
    assert.ok(recordsEqual(got.record, r));
    assert.deepEqual(got.record, r);
  }
  assert.equal(encodeRecord(cases[2]!).length, MAX_RECORD_BYTES);
});

Deno.test("the record wire layout follows the diagram", () => {
  const r = record({
    seq: 0x0102_0304_0506,
    ttlSeconds: 0x0001_5180,
    deleted: true,
    value: new Uint8Array(0),
  });
  const b = encodeRecord(r);
  assert.equal(b[0], 1, "flags bit 0 = deleted");
  assert.deepEqual([...b.subarray(1, 7)], [1, 2, 3, 4, 5, 6], "seq u48 big-endian");
  assert.deepEqual([...b.subarray(7, 11)], [0, 1, 0x51, 0x80], "ttl u32 big-endian");
  assert.deepEqual(b.subarray(11, 43), r.owner);
  assert.equal(b[43], r.key.length);
  assert.deepEqual(b.subarray(44, 44 + r.key.length), r.key);
  assert.deepEqual([...b.subarray(44 + r.key.length, 46 + r.key.length)], [0, 0]);
  assert.deepEqual(b.subarray(b.length - 64), r.signature);
  const signed = recordSignedBytes(r);
  assert.equal(new TextDecoder().decode(signed.subarray(0, 18)), "ipop dht record v1");
  assert.deepEqual(signed.subarray(18), b.subarray(0, b.length - 64));
});

Deno.test("decodeRecord reads at an offset and returns the end", () => {
  const a = encodeRecord(record());
  const c = encodeRecord(record({ key: enc.encode("k2") }));
  const buf = new Uint8Array(3 + a.length + c.length);
  buf.set(a, 3);
  buf.set(c, 3 + a.length);
  const first = decodeRecord(buf, 3)!;
  assert.equal(first.end, 3 + a.length);
  const second = decodeRecord(buf, first.end)!;
  assert.equal(second.end, buf.length);
  assert.equal(new TextDecoder().decode(second.record.key), "k2");
  buf.fill(0);
  assert.equal(second.record.key[0], "k".charCodeAt(0), "decoded arrays do not alias input");
  assert.equal(decodeRecord(buf, -1), null);
  assert.equal(decodeRecord(buf, 1.5), null);
  assert.equal(decodeRecord(buf, buf.length), null);
});

Deno.test("every truncation of a valid record decodes to null", () => {
  for (const r of [record(), record({ value: new Uint8Array(0) })]) {
    const bytes = encodeRecord(r);
    for (let n = 0; n < bytes.length; n++) {
      assert.equal(decodeRecord(bytes.subarray(0, n), 0), null, `truncated to ${n}`);
    }
  }
});

Deno.test("decodeRecord refuses unknown flags, bad ttl, empty key, long value and tombstone values", () => {
  const good = encodeRecord(record());
  const mutate = (f: (b: Uint8Array, v: DataView) => void) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return decodeRecord(b, 0);
  };
  assert.ok(mutate(() => {}) !== null);
  assert.equal(mutate((b) => b[0] = 2), null, "unknown flag");
  assert.equal(mutate((b) => b[0] = 1), null, "tombstone with a value");
  assert.equal(mutate((_, v) => v.setUint32(7, 0)), null, "ttl 0");
  assert.equal(mutate((_, v) => v.setUint32(7, MAX_TTL_SECONDS + 1)), null, "ttl too long");
  assert.equal(mutate((b) => b[43] = 0), null, "empty key");
  const keyLen = good[43]!;
  assert.equal(
    mutate((_, v) => v.setUint16(44 + keyLen, MAX_VALUE_BYTES + 1)),
    null,
    "value too long",
  );
});

Deno.test("decodeRecord never throws on random or mutated bytes", () => {
  const rng = new SeededRng(SEED);
  const good = encodeRecord(record());
  try {
    for (let i = 0; i < 3000; i++) {
      const len = rng.uint32() % (MAX_RECORD_BYTES + 8);
      const bytes = rng.fill(new Uint8Array(len));
      if (len > 43 && i % 2 === 0) bytes[43] = rng.uint32() % 4; // short keys reach further in
      const got = decodeRecord(bytes, rng.uint32() % 4);
      if (got !== null) assert.ok(got.end <= bytes.length);
      const m = good.slice();
      m[rng.uint32() % m.length] = rng.uint32() & 0xff;
      const back = decodeRecord(m, 0);
      if (back !== null) assert.deepEqual(encodeRecord(back.record), m.subarray(0, back.end));
    }
  } catch (e) {
    console.error(`SEED=${SEED}`);
    throw e;
  }
});

Deno.test("encodeRecord and recordSignedBytes refuse out-of-range fields", () => {
  const r = record();
  const bad: DhtRecord[] = [
    { ...r, key: new Uint8Array(0) },
    { ...r, key: new Uint8Array(MAX_KEY_BYTES + 1) },
    { ...r, value: new Uint8Array(MAX_VALUE_BYTES + 1) },
    { ...r, owner: new Uint8Array(31) },
    { ...r, ttlSeconds: 0 },
    { ...r, ttlSeconds: MAX_TTL_SECONDS + 1 },
    { ...r, seq: -1 },
    { ...r, seq: MAX_SEQ + 1 },
    { ...r, seq: 1.5 },
    { ...r, deleted: true },
    { ...r, signature: new Uint8Array(63) },
  ];
  for (const b of bad) {
    assert.throws(() => encodeRecord(b), RangeError);
    assert.equal(verifyRecord(b, fakeVerify), false);
  }
  assert.throws(() => recordSignedBytes({ ...r, ttlSeconds: 0 }), RangeError);
  assert.throws(() => signRecord({ ...r }, () => new Uint8Array(32)), RangeError);
});

Deno.test("signRecord signs what verifyRecord checks; any changed field fails", () => {
  const r = record();
  assert.ok(verifyRecord(r, fakeVerify));
  assert.equal(verifyRecord({ ...r, value: enc.encode("100.64.0.8") }, fakeVerify), false);
  assert.equal(verifyRecord({ ...r, seq: r.seq + 1 }, fakeVerify), false);
  assert.equal(verifyRecord({ ...r, ttlSeconds: 60 }, fakeVerify), false);
  assert.equal(verifyRecord({ ...r, owner: new Uint8Array(32).fill(8) }, fakeVerify), false);
  assert.equal(verifyRecord(r, () => false), false);
  assert.equal(
    verifyRecord(r, () => {
      throw new Error("boom");
    }),
    false,
    "a throwing verifier counts as a failure",
  );
});

Deno.test("dhtKeyPosition is the first 20 bytes of BLAKE2s-256 over the domain and key", () => {
  const key = enc.encode("host/alpha");
  const expected = addressFromBytes(blake2s(Uint8Array.of(...enc.encode("ipop dht key"), ...key)));
  assert.equal(dhtKeyPosition(key), expected);
  assert.equal(dhtKeyPosition(key), dhtKeyPosition(key.slice()));
  assert.notEqual(dhtKeyPosition(key), dhtKeyPosition(enc.encode("host/beta")));
  const p = dhtKeyPosition(new Uint8Array(0));
  assert.ok(p >= 0n && p < RING_SIZE);
});

Deno.test("recordsEqual compares every field, signature included", () => {
  const r = record();
  assert.ok(recordsEqual(r, { ...r, key: r.key.slice() }));
  const sig = r.signature.slice();
  sig[63] = sig[63]! ^ 1;
  assert.equal(recordsEqual(r, { ...r, signature: sig }), false);
  assert.equal(recordsEqual(r, record({ ttlSeconds: 60 })), false);
  assert.equal(recordsEqual(r, { ...r, deleted: true }), false);
  assert.equal(MIN_RECORD_BYTES, 111);
});
