import assert from "node:assert/strict";
import { blake2s } from "@noble/hashes/blake2.js";
import {
  blake2sHash,
  blake2sMac,
  hmacBlake2s,
  noiseHkdf2,
  noiseHkdf3,
} from "../../lib/crypto/blake2s.ts";
import { type Aead, AEAD_TAG_BYTES, NodeAead, writeNonce } from "../../lib/crypto/aead.ts";
import { dh, keyPairFrom, publicKeyOf } from "../../lib/crypto/x25519.ts";
import { SodiumAead } from "../../ffi/sodium_aead.ts";
import { loadFastAead } from "../../ffi/fast_aead.ts";

const hex = (s: string) => Uint8Array.fromHex(s);
const ascii = (s: string) => new TextEncoder().encode(s);
const seq = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

/** Seeded xorshift32 so random-input tests replay with SEED=<n>. */
function rngFromEnv(): { seed: number; bytes(n: number): Uint8Array; int(max: number): number } {
  const seed = Number(Deno.env.get("SEED") ?? (Date.now() >>> 0)) >>> 0 || 1;
  let x = seed;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return {
    seed,
    bytes: (n) => Uint8Array.from({ length: n }, () => next() & 0xff),
    int: (max) => next() % max,
  };
}

// ---------------------------------------------------------------------------------------------
// BLAKE2s

Deno.test('blake2sHash matches RFC 7693 Appendix B ("abc")', () => {
  assert.equal(
    blake2sHash(ascii("abc")).toHex(),
    "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
  );
});

Deno.test("blake2sHash of several parts equals the hash of their concatenation", () => {
  assert.equal(
    blake2sHash(ascii("a"), ascii(""), ascii("bc")).toHex(),
    blake2sHash(ascii("abc")).toHex(),
  );
});

Deno.test("blake2sMac matches the BLAKE2 reference keyed KAT (key 00..1f)", () => {
  const key = seq(32);
  // blake2s-kat.txt entries for inputs of length 0, 1 and 3 (input = 00 01 02 ...).
  assert.equal(
    blake2sMac(key, new Uint8Array(0)).toHex(),
    "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49",
  );
  assert.equal(
    blake2sMac(key, seq(1)).toHex(),
    "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1",
  );
  assert.equal(
    blake2sMac(key, seq(3)).toHex(),
    "1d220dbe2ee134661fdf6d9e74b41704710556f2f6e5a091b227697445dbea6b",
  );
  assert.equal(blake2sMac(key.subarray(0, 16), ascii("x"), 16).length, 16);
  assert.throws(() => blake2sMac(new Uint8Array(0), ascii("x")), RangeError);
  assert.throws(() => blake2sMac(seq(33), ascii("x")), RangeError);
});

/** RFC 2104 HMAC written out by hand over BLAKE2s (block 64 bytes): the slow obvious model. */
function hmacModel(key: Uint8Array, data: Uint8Array): Uint8Array {
  const block = new Uint8Array(64);
  block.set(key.length > 64 ? blake2s(key) : key);
  const ipad = block.map((b) => b ^ 0x36);
  const opad = block.map((b) => b ^ 0x5c);
  const inner = blake2s(new Uint8Array([...ipad, ...data]));
  return blake2s(new Uint8Array([...opad, ...inner]));
}

Deno.test("hmacBlake2s equals RFC 2104 HMAC built by hand from BLAKE2s", () => {
  for (const [key, data] of [[seq(32), ascii("abc")], [seq(65), seq(100)], [seq(1), seq(0)]]) {
    assert.equal(hmacBlake2s(key!, data!).toHex(), hmacModel(key!, data!).toHex());
  }
  assert.equal(
    hmacBlake2s(seq(32), ascii("ab"), ascii("c")).toHex(),
    hmacModel(seq(32), ascii("abc")).toHex(),
  );
});

Deno.test("noiseHkdf2/3 follow the Noise HKDF definition and agree on shared outputs", () => {
  const ck = seq(32);
  const ikm = ascii("input key material");
  const temp = hmacModel(ck, ikm);
  const o1 = hmacModel(temp, Uint8Array.of(1));
  const o2 = hmacModel(temp, new Uint8Array([...o1, 2]));
  const o3 = hmacModel(temp, new Uint8Array([...o2, 3]));
  const [a1, a2] = noiseHkdf2(ck, ikm);
  const [b1, b2, b3] = noiseHkdf3(ck, ikm);
  assert.deepEqual([a1.toHex(), a2.toHex()], [o1.toHex(), o2.toHex()]);
  assert.deepEqual([b1.toHex(), b2.toHex(), b3.toHex()], [o1.toHex(), o2.toHex(), o3.toHex()]);
});

// ---------------------------------------------------------------------------------------------
// ChaCha20-Poly1305

const RFC8439_KEY = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
const RFC8439_NONCE = hex("070000004041424344454647");
const RFC8439_AD = hex("50515253c0c1c2c3c4c5c6c7");
const RFC8439_PT = ascii(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const RFC8439_SEALED = "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
  "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
  "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
  "3ff4def08e4b7a9de576d26586cec64b6116" + "1ae10b594f09e26a7e902ecbd0600691";

const IMPLS: Array<() => NodeAead | SodiumAead> = [() => new NodeAead(), () => new SodiumAead()];

for (const make of IMPLS) {
  const aead = make();
  Deno.test(`${aead.name} seals and opens the RFC 8439 §2.8.2 vector`, () => {
    const out = new Uint8Array(RFC8439_PT.length + AEAD_TAG_BYTES);
    const n = aead.sealWithNonce(RFC8439_KEY, RFC8439_NONCE, RFC8439_AD, RFC8439_PT, out);
    assert.equal(n, out.length);
    assert.equal(out.toHex(), RFC8439_SEALED);
    const back = new Uint8Array(RFC8439_PT.length);
    assert.equal(
      aead.openWithNonce(RFC8439_KEY, RFC8439_NONCE, RFC8439_AD, out, back),
      RFC8439_PT.length,
    );
    assert.deepEqual(back, RFC8439_PT);
  });

  Deno.test(`${aead.name} open rejects a flipped bit in ciphertext, tag or AD with -1`, () => {
    const sealed = hex(RFC8439_SEALED);
    const back = new Uint8Array(sealed.length);
    for (const i of [0, 57, sealed.length - 17, sealed.length - 16, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[i]! ^= 0x01;
      assert.equal(aead.openWithNonce(RFC8439_KEY, RFC8439_NONCE, RFC8439_AD, bad, back), -1);
    }
    const badAd = RFC8439_AD.slice();
    badAd[0]! ^= 0x80;
    assert.equal(aead.openWithNonce(RFC8439_KEY, RFC8439_NONCE, badAd, sealed, back), -1);
  });

  Deno.test(`${aead.name} open never throws for malformed input`, () => {
    const key = seq(32);
    const out = new Uint8Array(64);
    assert.equal(aead.open(key, 0, new Uint8Array(0), new Uint8Array(0), out), -1);
    assert.equal(aead.open(key, 0, new Uint8Array(0), new Uint8Array(15), out), -1);
    assert.equal(aead.open(key, 0, new Uint8Array(0), new Uint8Array(16), out), -1);
    assert.equal(aead.open(key, 0, new Uint8Array(0), new Uint8Array(40), new Uint8Array(23)), -1);
    assert.equal(aead.open(seq(31), 0, new Uint8Array(0), new Uint8Array(40), out), -1);
    assert.equal(aead.open(key, -1, new Uint8Array(0), new Uint8Array(40), out), -1);
    assert.equal(aead.open(key, 0.5, new Uint8Array(0), new Uint8Array(40), out), -1);
  });

  Deno.test(`${aead.name} seal rejects a bad key, counter or short output with RangeError`, () => {
    const pt = seq(10);
    assert.throws(() => aead.seal(seq(16), 0, pt, pt, new Uint8Array(26)), RangeError);
    assert.throws(() => aead.seal(seq(32), 2 ** 53, pt, pt, new Uint8Array(26)), RangeError);
    assert.throws(() => aead.seal(seq(32), 0, pt, pt, new Uint8Array(25)), RangeError);
  });

  Deno.test(`${aead.name} counter becomes the nonce 00000000 || LE64(counter)`, () => {
    const key = seq(32);
    const pt = ascii("counter check");
    for (const counter of [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 258, 2 ** 53 - 1]) {
      const nonce = new Uint8Array(12);
      new DataView(nonce.buffer).setBigUint64(4, BigInt(counter), true);
      const viaCounter = new Uint8Array(pt.length + 16);
      const viaNonce = new Uint8Array(pt.length + 16);
      aead.seal(key, counter, new Uint8Array(0), pt, viaCounter);
      aead.sealWithNonce(key, nonce, new Uint8Array(0), pt, viaNonce);
      assert.equal(viaCounter.toHex(), viaNonce.toHex(), `counter ${counter}`);
    }
  });
}

Deno.test("writeNonce encodes counters above 2^32 as two little-endian words", () => {
  const nonce = new Uint8Array(12).fill(0xee);
  writeNonce(nonce, 0x0012_3456_789a_bcde);
  assert.equal(nonce.toHex(), "00000000debc9a7856341200");
});

Deno.test("NodeAead and SodiumAead agree on random inputs, in place and at subarray offsets", () => {
  const rng = rngFromEnv();
  const node = new NodeAead();
  const sodium = new SodiumAead();
  try {
    for (let round = 0; round < 200; round++) {
      const key = rng.bytes(32);
      const ad = rng.bytes(rng.int(40));
      const pt = rng.bytes(rng.int(1500));
      const counter = round % 3 === 0
        ? rng.int(1000)
        : rng.int(2 ** 31) * 2 ** 21 + rng.int(2 ** 21);
      // Reference: node:crypto into a fresh buffer.
      const ref = new Uint8Array(pt.length + 16);
      assert.equal(node.seal(key, counter, ad, pt, ref), ref.length);

      for (const impl of [node, sodium] as Aead[]) {
        // Separate buffers at odd offsets, with sentinels around the output view.
        const srcOff = 1 + rng.int(7);
        const dstOff = 1 + rng.int(7);
        const src = new Uint8Array(srcOff + pt.length + 5);
        src.set(pt, srcOff);
        const dst = new Uint8Array(dstOff + ref.length + 5).fill(0xa5);
        const n = impl.seal(
          key,
          counter,
          ad,
          src.subarray(srcOff, srcOff + pt.length),
          dst.subarray(dstOff, dstOff + ref.length),
        );
        assert.equal(n, ref.length);
        assert.equal(dst.subarray(dstOff, dstOff + n).toHex(), ref.toHex(), impl.name);
        assert.ok(dst.subarray(0, dstOff).every((b) => b === 0xa5), "bytes before out untouched");
        assert.ok(dst.subarray(dstOff + n).every((b) => b === 0xa5), "bytes after out untouched");

        // In place: plaintext and out start at the same offset of one buffer.
        const off = rng.int(9);
        const buf = new Uint8Array(off + ref.length + 3);
        buf.set(pt, off);
        const view = buf.subarray(off, off + ref.length);
        assert.equal(impl.seal(key, counter, ad, view.subarray(0, pt.length), view), ref.length);
        assert.equal(view.toHex(), ref.toHex(), `${impl.name} in-place seal`);
        assert.equal(impl.open(key, counter, ad, view, view), pt.length);
        assert.equal(view.subarray(0, pt.length).toHex(), pt.toHex(), `${impl.name} in-place open`);

        // Opening the reference at an offset, and rejecting it under the next counter.
        const plain = new Uint8Array(pt.length + 4);
        assert.equal(impl.open(key, counter, ad, ref, plain.subarray(2)), pt.length);
        assert.equal(plain.subarray(2, 2 + pt.length).toHex(), pt.toHex());
        assert.equal(impl.open(key, counter + 1, ad, ref, plain), -1);
      }
    }
  } catch (e) {
    console.error(`crypto_kat_test random AEAD check failed with SEED=${rng.seed}`);
    throw e;
  }
});

Deno.test("loadFastAead picks libsodium when it is installed", () => {
  const aead = loadFastAead();
  assert.equal(aead.name, "libsodium");
  const out = new Uint8Array(RFC8439_PT.length + 16);
  aead.seal(RFC8439_KEY, 7, RFC8439_AD, RFC8439_PT, out);
  const ref = new Uint8Array(out.length);
  new NodeAead().seal(RFC8439_KEY, 7, RFC8439_AD, RFC8439_PT, ref);
  assert.equal(out.toHex(), ref.toHex());
});

// ---------------------------------------------------------------------------------------------
// X25519

Deno.test("dh matches the RFC 7748 §5.2 scalar multiplication vectors", () => {
  assert.equal(
    dh(
      hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
      hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
    ).toHex(),
    "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
  );
  assert.equal(
    dh(
      hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
      hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"),
    ).toHex(),
    "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
  );
});

Deno.test("X25519 reproduces the RFC 7748 §6.1 Alice/Bob exchange", () => {
  const alice = keyPairFrom(
    hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
  );
  const bob = keyPairFrom(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  assert.equal(
    alice.publicKey.toHex(),
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
  assert.equal(
    bob.publicKey.toHex(),
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  );
  const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assert.equal(dh(alice.privateKey, bob.publicKey).toHex(), shared);
  assert.equal(dh(bob.privateKey, alice.publicKey).toHex(), shared);
  assert.equal(publicKeyOf(alice.privateKey).toHex(), alice.publicKey.toHex());
});

Deno.test("dh refuses a low-order public key instead of returning a zero secret", () => {
  // OpenSSL itself fails the derivation (a plain Error) before x25519.ts can raise WeakKeyError;
  // either way no all-zero secret escapes. The handshake maps both to HandshakeError.
  assert.throws(() => dh(seq(32), new Uint8Array(32)), (e) => e instanceof Error);
  assert.throws(
    () => dh(seq(32), Uint8Array.of(1, ...new Uint8Array(31))),
    (e) => e instanceof Error,
  );
});
