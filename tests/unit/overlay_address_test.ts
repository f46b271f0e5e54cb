import assert from "node:assert/strict";
import { blake2s } from "@noble/hashes/blake2.js";
import {
  ADDRESS_BITS,
  ADDRESS_BYTES,
  addressFromBytes,
  addressFromHex,
  addressOfKey,
  addressToBytes,
  addressToHex,
  randomAddress,
  RING_SIZE,
} from "../../lib/overlay/address.ts";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";

const KEY_0_TO_31 = new Uint8Array(32).map((_, i) => i);

Deno.test("ring constants describe 160-bit addresses", () => {
  assert.equal(ADDRESS_BITS, 160);
  assert.equal(ADDRESS_BYTES, 20);
  assert.equal(RING_SIZE, 2n ** 160n);
});

Deno.test("addressOfKey matches BLAKE2s-160 over the domain-separated key", () => {
  const domain = new TextEncoder().encode("ipop overlay address v1");
  const input = new Uint8Array([...domain, 0, ...KEY_0_TO_31]);
  const digest = blake2s(input, { dkLen: 20 });
  assert.equal(addressOfKey(KEY_0_TO_31), BigInt("0x" + digest.toHex()));
  // Pinned, so a change of domain string or hash shows up here.
  assert.equal(addressToHex(addressOfKey(KEY_0_TO_31)), "91908f3b1dc13626e512cf010bccedf1a8897cff");
  assert.equal(
    addressToHex(addressOfKey(new Uint8Array(0))),
    "fb7f5b75ec9e4f73ffe95df576b24f5feab670c6",
  );
});

Deno.test("addressOfKey is deterministic, key-sensitive and domain-separated", () => {
  assert.equal(addressOfKey(KEY_0_TO_31.slice()), addressOfKey(KEY_0_TO_31));
  const flipped = KEY_0_TO_31.slice();
  flipped[31]! ^= 1;
  assert.notEqual(addressOfKey(flipped), addressOfKey(KEY_0_TO_31));
  const plain = BigInt("0x" + blake2s(KEY_0_TO_31, { dkLen: 20 }).toHex());
  assert.notEqual(addressOfKey(KEY_0_TO_31), plain);
  const a = addressOfKey(KEY_0_TO_31);
  assert.ok(a >= 0n && a < RING_SIZE);
});

Deno.test("addressToHex gives 40 lowercase chars with leading zeros kept", () => {
  assert.equal(addressToHex(0n), "0".repeat(40));
  assert.equal(addressToHex(1n), "0".repeat(39) + "1");
  assert.equal(addressToHex(RING_SIZE - 1n), "f".repeat(40));
  assert.equal(addressToHex(2n ** 159n), "8" + "0".repeat(39));
  assert.equal(addressToHex(0xabcn << 100n), "0".repeat(12) + "abc" + "0".repeat(25));
});

Deno.test("addressToHex and addressToBytes reject out-of-range values", () => {
  for (const bad of [-1n, RING_SIZE, RING_SIZE + 5n]) {
    assert.throws(() => addressToHex(bad), RangeError);
    assert.throws(() => addressToBytes(bad), RangeError);
  }
});

Deno.test("addressFromHex accepts exactly 40 hex chars, either case", () => {
  assert.equal(addressFromHex("F".repeat(40)), RING_SIZE - 1n);
  assert.equal(addressFromHex("0".repeat(39) + "a"), 10n);
  for (
    const bad of [
      "",
      "0".repeat(39),
      "0".repeat(41),
      "0x" + "0".repeat(38),
      "g" + "0".repeat(39),
      " " + "0".repeat(39),
      "0".repeat(39) + "\n",
      "-" + "1".repeat(39),
    ]
  ) {
    assert.throws(() => addressFromHex(bad), RangeError, JSON.stringify(bad));
  }
});

Deno.test("addressToBytes is 20 bytes big-endian with leading zero bytes", () => {
  assert.deepEqual(addressToBytes(0n), new Uint8Array(20));
  const one = new Uint8Array(20);
  one[19] = 1;
  assert.deepEqual(addressToBytes(1n), one);
  assert.deepEqual(addressToBytes(RING_SIZE - 1n), new Uint8Array(20).fill(0xff));
  const top = new Uint8Array(20);
  top[0] = 0x80;
  assert.deepEqual(addressToBytes(2n ** 159n), top);
  assert.equal(addressToBytes(0x0102n).toHex(), "00".repeat(18) + "0102");
});

Deno.test("addressFromBytes reads at an offset and rejects short or bad input", () => {
  const buf = new Uint8Array(25);
  buf.set(addressToBytes(0x1234n), 3);
  assert.equal(addressFromBytes(buf, 3), 0x1234n);
  assert.equal(addressFromBytes(buf.subarray(3, 23)), 0x1234n);
  assert.equal(addressFromBytes(buf, 5), 0x1234n << 16n);
  assert.throws(() => addressFromBytes(new Uint8Array(19)), RangeError);
  assert.throws(() => addressFromBytes(buf, 6), RangeError);
  assert.throws(() => addressFromBytes(buf, -1), RangeError);
  assert.throws(() => addressFromBytes(buf, 1.5), RangeError);
});

Deno.test("hex and bytes round-trip random and edge addresses", () => {
  const seed = Deno.env.get("SEED") ?? "overlay-address";
  const rng = new SeededRng(seed);
  const edges = [0n, 1n, 255n, 256n, 2n ** 159n - 1n, 2n ** 159n, RING_SIZE - 2n, RING_SIZE - 1n];
  const values = [...edges];
  for (let i = 0; i < 2000; i++) {
    // Random widths so many values have leading zero bytes and nibbles.
    values.push(randomAddress(rng) >> BigInt(rng.int(161)));
  }
  for (const a of values) {
    const hex = addressToHex(a);
    assert.match(hex, /^[0-9a-f]{40}$/, `seed ${seed}`);
    assert.equal(addressFromHex(hex), a, `seed ${seed}`);
    assert.equal(addressFromHex(hex.toUpperCase()), a, `seed ${seed}`);
    const bytes = addressToBytes(a);
    assert.equal(bytes.length, 20);
    assert.equal(bytes.toHex(), hex, `seed ${seed}`);
    assert.equal(addressFromBytes(bytes), a, `seed ${seed}`);
  }
});

Deno.test("randomAddress is seed-deterministic and covers the whole ring", () => {
  const a = new SeededRng(7), b = new SeededRng(7);
  const xs = Array.from({ length: 4000 }, () => randomAddress(a));
  assert.deepEqual(Array.from({ length: 4000 }, () => randomAddress(b)), xs);
  assert.equal(new Set(xs).size, xs.length);
  const quarters = [0, 0, 0, 0];
  for (const x of xs) {
    assert.ok(x >= 0n && x < RING_SIZE);
    quarters[Number(x >> 158n)]!++;
  }
  for (const q of quarters) assert.ok(q > 850 && q < 1150, `quarters ${quarters}`);
  // Low bits are random too.
  assert.ok(xs.filter((x) => (x & 1n) === 1n).length > 1800);
});
