import assert from "node:assert/strict";
import { blake2s } from "@noble/hashes/blake2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { Blake2s } from "../../lib/crypto/blake2s_core.ts";
import { blake2sMac, hmacBlake2s, noiseHkdf3 } from "../../lib/crypto/blake2s.ts";

const hex = (b: Uint8Array) => b.toHex();

Deno.test('BLAKE2s-256 of "abc" is RFC 7693\'s appendix B value', () => {
  const digest = new Blake2s().update(new TextEncoder().encode("abc")).digest();
  assert.equal(hex(digest), "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
});

Deno.test("BLAKE2s agrees with @noble/hashes on every length around the block edges, keyed or not", () => {
  const rng = new SeededRng(7);
  for (let len = 0; len <= 200; len++) {
    const data = rng.fill(new Uint8Array(len));
    const keyLen = len % 33;
    const key = rng.fill(new Uint8Array(keyLen));
    const outLen = 1 + (len % 32);
    const ours = new Blake2s(outLen, keyLen > 0 ? key : undefined).update(data).digest();
    const ref = blake2s(data, { dkLen: outLen, ...(keyLen > 0 ? { key } : {}) });
    assert.equal(hex(ours), hex(ref), `len ${len} key ${keyLen} out ${outLen}`);
  }
});

Deno.test("BLAKE2s: updates in random pieces, and a state continued by copyFrom, give the same digest", () => {
  const rng = new SeededRng(8);
  for (let round = 0; round < 50; round++) {
    const data = rng.fill(new Uint8Array(rng.uint32() % 400));
    const whole = new Blake2s().update(data).digest();
    const pieces = new Blake2s();
    for (let at = 0; at < data.length;) {
      const n = Math.min(data.length - at, rng.uint32() % 90);
      pieces.update(data.subarray(at, at + n));
      at += n;
    }
    assert.equal(hex(pieces.digest()), hex(whole));
    const half = data.length >> 1;
    const first = new Blake2s().update(data.subarray(0, half));
    const copy = new Blake2s().copyFrom(first).update(data.subarray(half)).digest();
    assert.equal(hex(copy), hex(whole), "copy continues the original");
    assert.equal(hex(first.update(data.subarray(half)).digest()), hex(whole), "original intact");
  }
});

Deno.test("HMAC-BLAKE2s and the keyed MAC agree with @noble/hashes, also for keys over a block", () => {
  const rng = new SeededRng(9);
  for (const keyLen of [1, 16, 32, 63, 64, 65, 100]) {
    for (const dataLen of [0, 1, 32, 64, 65, 150]) {
      const key = rng.fill(new Uint8Array(keyLen));
      const data = rng.fill(new Uint8Array(dataLen));
      assert.equal(
        hex(hmacBlake2s(key, data)),
        hex(hmac(blake2s, key, data)),
        `${keyLen}/${dataLen}`,
      );
      const a = data.subarray(0, dataLen >> 1);
      const b = data.subarray(dataLen >> 1);
      assert.equal(hex(hmacBlake2s(key, a, b)), hex(hmac(blake2s, key, data)), "parts concatenate");
      if (keyLen <= 32) {
        assert.equal(hex(blake2sMac(key, data, 16)), hex(blake2s(data, { key, dkLen: 16 })));
      }
    }
  }
});

Deno.test("Noise HKDF with three outputs follows its definition over HMAC", () => {
  const rng = new SeededRng(10);
  const ck = rng.fill(new Uint8Array(32));
  const ikm = rng.fill(new Uint8Array(32));
  const temp = hmac(blake2s, ck, ikm);
  const o1 = hmac(blake2s, temp, Uint8Array.of(1));
  const o2 = hmac(blake2s, temp, Uint8Array.of(...o1, 2));
  const o3 = hmac(blake2s, temp, Uint8Array.of(...o2, 3));
  assert.deepEqual(noiseHkdf3(ck, ikm).map(hex), [o1, o2, o3].map(hex));
});
