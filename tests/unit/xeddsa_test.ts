import assert from "node:assert/strict";
import crypto from "node:crypto";
import {
  edwardsKeyOfX25519,
  XEDDSA_SIGNATURE_BYTES,
  xeddsaSign,
  xeddsaVerify,
} from "../../lib/crypto/xeddsa.ts";
import { keyPairFrom } from "../../lib/crypto/x25519.ts";
import {
  bigIntToBytesLE,
  bytesToBigIntLE,
  encodePoint,
  P,
  Q,
  scalarMultBase,
} from "../../lib/crypto/ed25519_point.ts";

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

const b64url = { alphabet: "base64url" } as const;

function ed25519KeyObject(edwards: Uint8Array): crypto.KeyObject {
  return crypto.createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: edwards.toBase64({ ...b64url, omitPadding: true }) },
    format: "jwk",
  });
}

function clampedScalar(privateKey: Uint8Array): bigint {
  const k = privateKey.slice();
  k[0] = k[0]! & 248;
  k[31] = (k[31]! & 127) | 64;
  return bytesToBigIntLE(k);
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = out[bit >> 3]! ^ (1 << (bit & 7));
  return out;
}

Deno.test("edwardsKeyOfX25519 agrees with node:crypto Ed25519 keys under the birational map", () => {
  for (let i = 0; i < 4; i++) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
    const seed = Uint8Array.fromBase64(privateKey.export({ format: "jwk" }).d!, b64url);
    const edPub = Uint8Array.fromBase64(publicKey.export({ format: "jwk" }).x!, b64url);
    const scalar = new Uint8Array(crypto.createHash("sha512").update(seed).digest()).slice(0, 32);
    scalar[0] = scalar[0]! & 248;
    scalar[31] = (scalar[31]! & 127) | 64;
    const x25519 = keyPairFrom(scalar);
    const expected = edPub.slice();
    expected[31] = expected[31]! & 0x7f;
    assert.equal(edwardsKeyOfX25519(x25519.publicKey)?.toHex(), expected.toHex());
  }
});

Deno.test("edwardsKeyOfX25519 rejects wrong lengths, non-canonical, -1 and small-order u", () => {
  const valid = keyPairFrom(new Uint8Array(32).fill(7)).publicKey;
  assert.notEqual(edwardsKeyOfX25519(valid), null);
  assert.equal(edwardsKeyOfX25519(valid.subarray(0, 31)), null);
  assert.equal(edwardsKeyOfX25519(new Uint8Array(33)), null);
  const highBit = valid.slice();
  highBit[31] = highBit[31]! | 0x80;
  assert.equal(edwardsKeyOfX25519(highBit), null, "bit 255 set");
  assert.equal(edwardsKeyOfX25519(bigIntToBytesLE(P - 1n)), null, "u = -1");
  assert.equal(edwardsKeyOfX25519(bigIntToBytesLE(P + 9n)), null, "u = 9 + p");
  assert.equal(edwardsKeyOfX25519(new Uint8Array(32)), null, "u = 0 has order 2");
  assert.equal(edwardsKeyOfX25519(bigIntToBytesLE(1n)), null, "u = 1 has order 4");
  // The X25519 base point u = 9 maps to the Ed25519 base point.
  assert.equal(
    edwardsKeyOfX25519(bigIntToBytesLE(9n))?.toHex(),
    "5866666666666666666666666666666666666666666666666666666666666666",
  );
});

Deno.test("xeddsa signatures verify for random keys and messages of 0, 1, 100, 2000 bytes", () => {
  const rng = rngFromEnv();
  for (const length of [0, 1, 100, 2000]) {
    for (let i = 0; i < 3; i++) {
      const { privateKey, publicKey } = keyPairFrom(rng.bytes(32));
      const message = rng.bytes(length);
      const sig = xeddsaSign(privateKey, message, rng.bytes(64));
      assert.equal(sig.length, XEDDSA_SIGNATURE_BYTES);
      assert.ok(xeddsaVerify(publicKey, message, sig), `len=${length} SEED=${rng.seed}`);
    }
  }
});

Deno.test("xeddsa signatures verify with node:crypto Ed25519 against the converted key", () => {
  const rng = rngFromEnv();
  const branches = new Set<number>();
  for (let i = 0; i < 16; i++) {
    const { privateKey, publicKey } = keyPairFrom(rng.bytes(32));
    const edwards = edwardsKeyOfX25519(publicKey);
    assert.ok(edwards !== null);
    const message = rng.bytes(rng.int(300));
    const sig = xeddsaSign(privateKey, message, rng.bytes(64));
    assert.ok(crypto.verify(null, message, ed25519KeyObject(edwards), sig), `SEED=${rng.seed}`);
    // Record which branch of the sign-bit fix-up ran (E = kB had x odd: a = -k).
    branches.add(encodePoint(scalarMultBase(clampedScalar(privateKey)))[31]! >> 7);
  }
  assert.equal(branches.size, 2, `both sign-bit branches exercised (SEED=${rng.seed})`);
});

Deno.test("flipping any single bit of message, signature or public key fails verification", () => {
  const rng = rngFromEnv();
  const { privateKey, publicKey } = keyPairFrom(rng.bytes(32));
  const message = rng.bytes(100);
  const sig = xeddsaSign(privateKey, message, rng.bytes(64));
  assert.ok(xeddsaVerify(publicKey, message, sig));
  for (let bit = 0; bit < message.length * 8; bit++) {
    assert.ok(!xeddsaVerify(publicKey, flipBit(message, bit), sig), `message bit ${bit}`);
  }
  for (let bit = 0; bit < sig.length * 8; bit++) {
    assert.ok(!xeddsaVerify(publicKey, message, flipBit(sig, bit)), `signature bit ${bit}`);
  }
  for (let bit = 0; bit < publicKey.length * 8; bit++) {
    assert.ok(!xeddsaVerify(flipBit(publicKey, bit), message, sig), `public key bit ${bit}`);
  }
  assert.ok(xeddsaVerify(publicKey, message, sig), "the original still verifies");
});

Deno.test("verification is false for wrong lengths, s >= q, another key, and junk", () => {
  const rng = rngFromEnv();
  const alice = keyPairFrom(rng.bytes(32));
  const bob = keyPairFrom(rng.bytes(32));
  const message = rng.bytes(40);
  const sig = xeddsaSign(alice.privateKey, message, rng.bytes(64));
  assert.ok(xeddsaVerify(alice.publicKey, message, sig));
  assert.ok(!xeddsaVerify(bob.publicKey, message, sig), "signature from another key");
  assert.ok(!xeddsaVerify(alice.publicKey, message, sig.subarray(0, 63)));
  assert.ok(!xeddsaVerify(alice.publicKey, message, new Uint8Array([...sig, 0])));
  assert.ok(!xeddsaVerify(alice.publicKey.subarray(0, 31), message, sig));
  assert.ok(!xeddsaVerify(new Uint8Array(0), message, sig));
  assert.ok(!xeddsaVerify(alice.publicKey, message, new Uint8Array(64)));
  assert.ok(!xeddsaVerify(new Uint8Array(32), message, sig), "small-order key");
  // s + q is the same residue but non-canonical: must be rejected (malleability).
  const s = bytesToBigIntLE(sig.subarray(32));
  const malleable = sig.slice();
  malleable.set(bigIntToBytesLE(s + Q), 32);
  assert.ok(!xeddsaVerify(alice.publicKey, message, malleable));
  const sEqualsQ = sig.slice();
  sEqualsQ.set(bigIntToBytesLE(Q), 32);
  assert.ok(!xeddsaVerify(alice.publicKey, message, sEqualsQ));
});

Deno.test("signing is deterministic in Z, varies with Z, and rejects bad input lengths", () => {
  const rng = rngFromEnv();
  const { privateKey, publicKey } = keyPairFrom(rng.bytes(32));
  const message = rng.bytes(10);
  const z = rng.bytes(64);
  const first = xeddsaSign(privateKey, message, z);
  assert.equal(xeddsaSign(privateKey, message, z).toHex(), first.toHex());
  const other = xeddsaSign(privateKey, message, flipBit(z, 0));
  assert.notEqual(other.toHex(), first.toHex());
  assert.ok(xeddsaVerify(publicKey, message, other));
  assert.throws(() => xeddsaSign(privateKey.subarray(0, 31), message, z), RangeError);
  assert.throws(() => xeddsaSign(privateKey, message, z.subarray(0, 32)), RangeError);
});
