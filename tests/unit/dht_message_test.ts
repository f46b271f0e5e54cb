import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import {
  decodeDhtMessage,
  DHT_MESSAGE_HEADER_BYTES,
  type DhtMessage,
  dhtMessageBytes,
  DhtMessageType,
  DhtOp,
  DhtStatus,
  encodeDhtMessage,
  fittingRecords,
  HELD_PREFIX_BYTES,
  type HeldRecord,
  MAX_DHT_MESSAGE_BYTES,
  MAX_MESSAGE_KEY_BYTES,
  MAX_MESSAGE_RECORDS,
} from "../../lib/dht/dht_message.ts";
import {
  type DhtRecord,
  encodeRecord,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  recordWireBytes,
} from "../../lib/dht/dht_record.ts";

const SEED = Deno.env.get("SEED") ?? "dht-message";
const enc = new TextEncoder();

/** Records whose signatures are arbitrary bytes: the codec never verifies them. */
function record(i: number, valueBytes = 8): DhtRecord {
  return {
    key: enc.encode(`key-${i}`),
    value: new Uint8Array(valueBytes).fill(i),
    owner: new Uint8Array(32).fill(i + 1),
    ttlSeconds: 60 + i,
    seq: 1_700_000_000_000 + i,
    deleted: false,
    signature: new Uint8Array(64).fill(0xa0 + i),
  };
}

function held(i: number, valueBytes = 8, remainingMs = 1000 * (60 + i)): HeldRecord {
  return { record: record(i, valueBytes), remainingMs };
}

function message(over: Partial<DhtMessage> = {}): DhtMessage {
  return {
    type: DhtMessageType.Reply,
    requestId: 0xdeadbeef,
    op: DhtOp.Get,
    status: DhtStatus.Ok,
    key: enc.encode("host/alpha"),
    records: [held(1), held(2, 0)],
    ...over,
  };
}

Deno.test("every message type round-trips with its op, status, key and held records", () => {
  for (const type of Object.values(DhtMessageType)) {
    for (const op of Object.values(DhtOp)) {
      for (const status of Object.values(DhtStatus)) {
        const m = message({ type, op, status, requestId: type * 1000 + op * 10 + status });
        const bytes = encodeDhtMessage(m);
        assert.equal(bytes.length, dhtMessageBytes(m));
        assert.deepEqual(decodeDhtMessage(bytes), m);
      }
    }
  }
  const empty = message({ type: DhtMessageType.Handoff, key: new Uint8Array(0), records: [] });
  assert.deepEqual(decodeDhtMessage(encodeDhtMessage(empty)), empty);
  const longest = message({
    requestId: 0xffff_ffff,
    key: new Uint8Array(MAX_MESSAGE_KEY_BYTES).fill(9),
  });
  assert.deepEqual(decodeDhtMessage(encodeDhtMessage(longest)), longest);
});

Deno.test("remainingMs round-trips at 0 and 2^32-1; larger, negative and fractional values clamp", () => {
  const cases: [number, number][] = [
    [0, 0],
    [1, 1],
    [0xffff_ffff, 0xffff_ffff],
    [2 ** 32, 0xffff_ffff],
    [2 ** 40, 0xffff_ffff],
    [Number.MAX_SAFE_INTEGER, 0xffff_ffff],
    [-5, 0],
    [1234.9, 1234],
  ];
  for (const [sent, got] of cases) {
    const m = message({ records: [held(1, 8, sent)] });
    const back = decodeDhtMessage(encodeDhtMessage(m));
    assert.ok(back !== null, `remainingMs ${sent}`);
    assert.equal(back.records[0]!.remainingMs, got, `remainingMs ${sent}`);
    assert.deepEqual(back.records[0]!.record, m.records[0]!.record);
  }
});

Deno.test("the message header follows the diagram, each record behind a u32 remainingMs", () => {
  const m = message({
    type: DhtMessageType.ReplicaRequest,
    op: DhtOp.Create,
    status: 0,
    records: [held(1, 8, 0x01020304), held(2, 0, 7)],
  });
  const b = encodeDhtMessage(m);
  assert.deepEqual(
    [...b.subarray(0, DHT_MESSAGE_HEADER_BYTES)],
    [3, 0xde, 0xad, 0xbe, 0xef, 3, 0, 10],
  );
  assert.deepEqual(b.subarray(8, 18), m.key);
  assert.equal(b[18], 2, "record count");
  assert.deepEqual([...b.subarray(19, 23)], [1, 2, 3, 4], "first remainingMs, big-endian");
  const first = encodeRecord(m.records[0]!.record);
  assert.deepEqual(b.subarray(23, 23 + first.length), first);
  const second = 23 + first.length;
  assert.deepEqual([...b.subarray(second, second + HELD_PREFIX_BYTES)], [0, 0, 0, 7]);
  assert.deepEqual(b.subarray(second + HELD_PREFIX_BYTES), encodeRecord(m.records[1]!.record));
});

Deno.test("every truncation of a valid message decodes to null, as do trailing bytes", () => {
  const bytes = encodeDhtMessage(message());
  for (let n = 0; n < bytes.length; n++) {
    assert.equal(decodeDhtMessage(bytes.subarray(0, n)), null, `truncated to ${n}`);
  }
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.equal(decodeDhtMessage(longer), null, "trailing byte");
});

Deno.test("unknown type, op or status and a wrong record count decode to null", () => {
  const good = encodeDhtMessage(message());
  const set = (at: number, v: number) => {
    const b = good.slice();
    b[at] = v;
    return decodeDhtMessage(b);
  };
  assert.ok(decodeDhtMessage(good) !== null);
  for (const t of [0, 6, 255]) assert.equal(set(0, t), null, `type ${t}`);
  for (const op of [0, 6, 255]) assert.equal(set(5, op), null, `op ${op}`);
  for (const s of [6, 255]) assert.equal(set(6, s), null, `status ${s}`);
  const countAt = DHT_MESSAGE_HEADER_BYTES + 10;
  assert.equal(set(countAt, 3), null, "count larger than the records present");
  assert.equal(set(countAt, 1), null, "count smaller: the rest is trailing bytes");
  assert.equal(set(countAt, MAX_MESSAGE_RECORDS + 1), null, "count over the bound");
});

Deno.test("messages over 16 records or 1200 bytes, and keys over 128 bytes, are refused", () => {
  const many = Array.from({ length: MAX_MESSAGE_RECORDS + 1 }, (_, i) => held(i, 0));
  assert.throws(() => encodeDhtMessage(message({ records: many })), RangeError);

  const big = Array.from({ length: 3 }, (_, i) => held(i, MAX_VALUE_BYTES));
  assert.ok(dhtMessageBytes(message({ records: big.slice(0, 2) })) > MAX_DHT_MESSAGE_BYTES);
  assert.throws(() => encodeDhtMessage(message({ records: big.slice(0, 2) })), RangeError);
  const one = message({ records: big.slice(0, 1) });
  assert.ok(dhtMessageBytes(one) <= MAX_DHT_MESSAGE_BYTES);
  assert.deepEqual(decodeDhtMessage(encodeDhtMessage(one)), one);

  assert.equal(decodeDhtMessage(new Uint8Array(MAX_DHT_MESSAGE_BYTES + 1)), null);
  assert.throws(() => encodeDhtMessage(message({ requestId: 2 ** 32 })), RangeError);
  assert.throws(() => encodeDhtMessage(message({ requestId: -1 })), RangeError);
  assert.throws(
    () => encodeDhtMessage(message({ key: new Uint8Array(MAX_MESSAGE_KEY_BYTES + 1) })),
    RangeError,
  );
  assert.throws(() => encodeDhtMessage({ ...message(), op: 9 as DhtMessage["op"] }), RangeError);
  const badTtl = { record: { ...record(1), ttlSeconds: 0 }, remainingMs: 1 };
  assert.throws(() => encodeDhtMessage(message({ records: [badTtl] })), RangeError);
});

Deno.test("the largest record (128-byte key, 768-byte value) fits one message with the longest key", () => {
  const r: HeldRecord = {
    record: {
      ...record(1),
      key: new Uint8Array(MAX_KEY_BYTES).fill(1),
      value: new Uint8Array(MAX_VALUE_BYTES).fill(2),
    },
    remainingMs: 0xffff_ffff,
  };
  const m = message({ key: new Uint8Array(MAX_MESSAGE_KEY_BYTES).fill(3), records: [r] });
  assert.ok(dhtMessageBytes(m) <= MAX_DHT_MESSAGE_BYTES, `${dhtMessageBytes(m)} bytes`);
  assert.deepEqual(decodeDhtMessage(encodeDhtMessage(m)), m);
});

Deno.test("fittingRecords takes the longest prefix within 1200 bytes and 16 records", () => {
  const key = enc.encode("host/alpha");
  const empty = fittingRecords(key, []);
  assert.deepEqual(empty, []);

  // Large records: the byte bound decides. Each is 4 + 44 + 5 + 2 + 500 + 64 = 619 bytes.
  const large = Array.from({ length: 4 }, (_, i) => held(i, 500));
  const fitLarge = fittingRecords(key, large);
  assert.equal(fitLarge.length, 1);
  assert.equal(fitLarge[0], large[0], "the prefix keeps the same objects, in order");
  assert.ok(encodeDhtMessage(message({ key, records: fitLarge })));
  assert.throws(() => encodeDhtMessage(message({ key, records: large.slice(0, 2) })));

  // Small records: still the byte bound (a minimal record with its prefix is ~120 bytes).
  const small = Array.from({ length: 20 }, (_, i) => held(i, 0));
  const fitSmall = fittingRecords(key, small);
  assert.deepEqual(fitSmall, small.slice(0, fitSmall.length));
  assert.ok(fitSmall.length <= MAX_MESSAGE_RECORDS);
  const size = (rs: HeldRecord[]) => dhtMessageBytes({ key, records: rs });
  assert.ok(size(fitSmall) <= MAX_DHT_MESSAGE_BYTES);
  assert.ok(size(small.slice(0, fitSmall.length + 1)) > MAX_DHT_MESSAGE_BYTES);
  assert.deepEqual(
    decodeDhtMessage(encodeDhtMessage(message({ key, records: fitSmall })))!
      .records,
    fitSmall,
  );

  // Exactly at the bound: pad the last record's value so the message is 1200 bytes.
  const base = DHT_MESSAGE_HEADER_BYTES + key.length + 1;
  const first = held(1, 100);
  const room = MAX_DHT_MESSAGE_BYTES - base - HELD_PREFIX_BYTES -
    recordWireBytes(first.record) - HELD_PREFIX_BYTES - recordWireBytes(record(2, 0));
  const exact = [first, held(2, room)];
  assert.equal(size(exact), MAX_DHT_MESSAGE_BYTES);
  assert.equal(fittingRecords(key, exact).length, 2);
  const over = [first, held(2, room + 1)];
  assert.equal(fittingRecords(key, over).length, 1);

  // A longer key leaves less room.
  const longKey = new Uint8Array(MAX_MESSAGE_KEY_BYTES);
  assert.equal(fittingRecords(longKey, exact).length, 1);
});

Deno.test("decodeDhtMessage never throws on random or mutated bytes; what decodes re-encodes", () => {
  const rng = new SeededRng(SEED);
  const good = encodeDhtMessage(message());
  try {
    for (let i = 0; i < 3000; i++) {
      const bytes = rng.fill(new Uint8Array(rng.uint32() % 600));
      if (bytes.length > 8) {
        bytes[0] = 1 + (rng.uint32() % 5);
        bytes[5] = 1 + (rng.uint32() % 5);
        bytes[6] = rng.uint32() % 6;
        bytes[7] = rng.uint32() % 8;
      }
      decodeDhtMessage(bytes);
      const m = good.slice();
      m[rng.uint32() % m.length] = rng.uint32() & 0xff;
      const back = decodeDhtMessage(m);
      if (back !== null) assert.deepEqual(encodeDhtMessage(back), m);
    }
  } catch (e) {
    console.error(`SEED=${SEED}`);
    throw e;
  }
});

Deno.test("a message key or record key longer than 128 bytes decodes to null, not to an unencodable message", () => {
  // A message key of 129..255 bytes (a Get carries no records).
  const longKey = new Uint8Array(DHT_MESSAGE_HEADER_BYTES + 200 + 1);
  longKey.set([DhtMessageType.ReplicaRequest, 0, 0, 0, 1, DhtOp.Get, DhtStatus.Ok, 200]);
  assert.equal(decodeDhtMessage(longKey), null, "message key of 200 bytes");

  // A record whose key is 200 bytes, spliced by hand (encodeRecord refuses to write it).
  const r = record(1, 0);
  const body = encodeRecord(r);
  const keyLenAt = 1 + 6 + 4 + 32;
  const keyAt = keyLenAt + 1;
  const spliced = new Uint8Array(body.length + 200 - r.key.length);
  spliced.set(body.subarray(0, keyLenAt));
  spliced[keyLenAt] = 200;
  spliced.set(body.subarray(keyAt + r.key.length), keyAt + 200);
  const msg = new Uint8Array(DHT_MESSAGE_HEADER_BYTES + 1 + HELD_PREFIX_BYTES + spliced.length);
  msg.set([DhtMessageType.Handoff, 0, 0, 0, 0, DhtOp.Put, DhtStatus.Ok, 0, 1, 0, 0, 0, 9]);
  msg.set(spliced, DHT_MESSAGE_HEADER_BYTES + 1 + HELD_PREFIX_BYTES);
  assert.equal(decodeDhtMessage(msg), null, "record key of 200 bytes");
});
