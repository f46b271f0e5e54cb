import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { endpoint } from "../../lib/transport/endpoint.ts";
import {
  DATA_HEADER_BYTES,
  readCounter,
  readReceiverIndex,
  writeDataHeader,
} from "../../lib/wire/data_message.ts";
import { decodeEndpoint, encodeEndpoint } from "../../lib/wire/endpoint_codec.ts";
import {
  decodeInitiation,
  decodeResponse,
  encodeInitiation,
  encodeResponse,
  INITIATION_MIN_BYTES,
  mac1Key,
  verifyMac1,
} from "../../lib/wire/handshake_messages.ts";
import { readMessageType } from "../../lib/wire/header.ts";
import { decodeTlv, encodeTlv, TlvError } from "../../lib/wire/tlv.ts";

Deno.test("data header round-trips indexes and counters up to 2^53", () => {
  const out = new Uint8Array(DATA_HEADER_BYTES);
  for (const [index, counter] of [[0, 0], [0xffffffff, 2 ** 53 - 1], [123456, 2 ** 32 + 5]]) {
    writeDataHeader(out, 4, index!, counter!);
    assert.equal(readMessageType(out), 4);
    assert.equal(readReceiverIndex(out), index);
    assert.equal(readCounter(out), counter);
  }
  assert.deepEqual([...out.subarray(8, 16)], [5, 0, 0, 0, 1, 0, 0, 0], "little-endian counter");
});

Deno.test("handshake frames carry indexes and a mac1 that detects tampering", () => {
  const psk = new Uint8Array(32).fill(3);
  const key = mac1Key(new Uint8Array(32).fill(9), psk);
  const noise = new Uint8Array(96 + 10).fill(7);
  const msg = encodeInitiation(42, noise, key);
  assert.equal(msg.length, INITIATION_MIN_BYTES + 10);
  const dec = decodeInitiation(msg)!;
  assert.equal(dec.senderIndex, 42);
  assert.deepEqual(dec.noise, noise);
  assert.ok(verifyMac1(key, msg));
  assert.equal(verifyMac1(mac1Key(new Uint8Array(32), psk), msg), false, "other receiver's key");
  const otherNetwork = mac1Key(new Uint8Array(32).fill(9), new Uint8Array(32));
  assert.equal(verifyMac1(otherNetwork, msg), false, "another network's secret");
  msg[20]! ^= 1;
  assert.equal(verifyMac1(key, msg), false);
  const resp = encodeResponse(1, 2, new Uint8Array(48), key);
  assert.deepEqual({ ...decodeResponse(resp)!, noise: undefined }, {
    senderIndex: 1,
    receiverIndex: 2,
    noise: undefined,
  });
  assert.equal(decodeInitiation(msg.subarray(0, INITIATION_MIN_BYTES - 1)), null);
  assert.equal(decodeResponse(new Uint8Array(500)), null);
});

Deno.test("TLV payloads round-trip, skip unknown types and reject truncation", () => {
  const p = encodeTlv([[1, new Uint8Array([1, 2])], [200, new Uint8Array(3)], [
    2,
    new Uint8Array(),
  ]]);
  const m = decodeTlv(p);
  assert.deepEqual([...m.get(1)!], [1, 2]);
  assert.equal(m.get(2)!.length, 0);
  assert.throws(() => decodeTlv(p.subarray(0, p.length - 4)), TlvError);
  assert.throws(() => decodeTlv(new Uint8Array([1])), TlvError);
  const rng = new SeededRng(11);
  for (let i = 0; i < 2000; i++) {
    const junk = rng.fill(new Uint8Array(rng.uint32() % 300));
    try {
      decodeTlv(junk);
    } catch (err) {
      assert.ok(err instanceof TlvError, "only TlvError escapes");
    }
  }
});

Deno.test("endpoints encode in 19 bytes for IPv4 and IPv6", () => {
  for (const ep of [endpoint("198.18.0.1", 5800), endpoint("2001:db8::1", 65535)]) {
    const back = decodeEndpoint(encodeEndpoint(ep))!;
    assert.equal(back.port, ep.port);
    assert.equal(back.family, ep.family);
  }
  assert.equal(decodeEndpoint(encodeEndpoint(endpoint("198.18.0.1", 1)))!.host, "198.18.0.1");
  assert.equal(decodeEndpoint(new Uint8Array(19)), null, "family 0");
  assert.equal(decodeEndpoint(new Uint8Array(5)), null);
});
