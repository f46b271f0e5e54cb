import assert from "node:assert/strict";
import crypto from "node:crypto";
import {
  BASE,
  bigIntToBytesLE,
  bytesToBigIntLE,
  D,
  decodePoint,
  encodePoint,
  IDENTITY,
  isSmallOrder,
  montgomeryUToEdwardsY,
  P,
  pointAdd,
  pointDouble,
  pointEquals,
  pointNegate,
  Q,
  reduceScalar,
  scalarMult,
  scalarMultBase,
  toAffine,
} from "../../lib/crypto/ed25519_point.ts";

/** Seeded xorshift32 so random-input tests replay with SEED=<n>. */
function rngFromEnv(): { seed: number; bytes(n: number): Uint8Array } {
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
  return { seed, bytes: (n) => Uint8Array.from({ length: n }, () => next() & 0xff) };
}

function onCurve(pt: { X: bigint; Y: bigint; Z: bigint }): boolean {
  const { x, y } = toAffine({ ...pt, T: 0n });
  const x2 = (x * x) % P, y2 = (y * y) % P;
  return (((y2 - x2 - 1n - ((D * x2) % P) * y2) % P) + P) % P === 0n;
}

Deno.test("the curve constants are the edwards25519 ones", () => {
  assert.equal(((D * 121666n + 121665n) % P + P) % P, 0n); // d = -121665/121666
  assert.ok(onCurve(BASE));
  assert.ok(pointEquals(scalarMult(BASE, Q), IDENTITY), "q * B is the identity");
  assert.ok(!pointEquals(scalarMult(BASE, Q - 1n), IDENTITY));
  assert.equal(
    encodePoint(BASE).toHex(),
    "5866666666666666666666666666666666666666666666666666666666666666",
  );
});

Deno.test("double equals add-to-self and negation cancels", () => {
  const p = scalarMult(BASE, 12345n);
  assert.ok(pointEquals(pointDouble(p), pointAdd(p, p)));
  assert.ok(pointEquals(pointAdd(p, pointNegate(p)), IDENTITY));
  assert.ok(pointEquals(pointAdd(p, IDENTITY), p));
  assert.ok(!pointEquals(pointDouble(p), p));
});

Deno.test("fixed-base multiplication matches double-and-add for random and edge scalars", () => {
  const rng = rngFromEnv();
  const scalars = [0n, 1n, 2n, 255n, 256n, Q - 1n, Q, Q + 1n, (1n << 256n) - 1n];
  for (let i = 0; i < 12; i++) scalars.push(bytesToBigIntLE(rng.bytes(32)));
  for (const k of scalars) {
    const fast = scalarMultBase(k);
    assert.ok(pointEquals(fast, scalarMult(BASE, k)), `k=${k} (SEED=${rng.seed})`);
    assert.ok(onCurve(fast));
  }
  assert.throws(() => scalarMultBase(1n << 256n), RangeError);
  assert.throws(() => scalarMultBase(-1n), RangeError);
});

Deno.test("fixed-base multiplication of a clamped seed hash gives node:crypto's Ed25519 key", () => {
  for (let i = 0; i < 4; i++) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
    const seed = Uint8Array.fromBase64(privateKey.export({ format: "jwk" }).d!, {
      alphabet: "base64url",
    });
    const expected = Uint8Array.fromBase64(publicKey.export({ format: "jwk" }).x!, {
      alphabet: "base64url",
    });
    const h = new Uint8Array(crypto.createHash("sha512").update(seed).digest()).subarray(0, 32);
    h[0] = h[0]! & 248;
    h[31] = (h[31]! & 127) | 64;
    assert.equal(encodePoint(scalarMultBase(bytesToBigIntLE(h))).toHex(), expected.toHex());
  }
});

Deno.test("decodePoint inverts encodePoint and rejects bad encodings", () => {
  const rng = rngFromEnv();
  for (let i = 0; i < 8; i++) {
    const p = scalarMultBase(bytesToBigIntLE(rng.bytes(32)));
    const enc = encodePoint(p);
    const back = decodePoint(enc);
    assert.ok(back !== null && pointEquals(back, p), `SEED=${rng.seed}`);
  }
  assert.equal(decodePoint(new Uint8Array(31)), null);
  // y = p (non-canonical encoding of y = 0).
  assert.equal(decodePoint(bigIntToBytesLE(P)), null);
  // y = 2 is not on the curve (x^2 = 3 / (4d + 1) is not a square).
  assert.equal(decodePoint(bigIntToBytesLE(2n)), null);
  // y = 1 gives x = 0; the sign bit set is invalid.
  const one = bigIntToBytesLE(1n);
  one[31] = 0x80;
  assert.equal(decodePoint(one), null);
});

Deno.test("isSmallOrder flags the torsion points only", () => {
  assert.ok(isSmallOrder(IDENTITY));
  assert.ok(isSmallOrder({ X: 0n, Y: P - 1n, Z: 1n, T: 0n })); // (0, -1), order 2
  const y0 = decodePoint(new Uint8Array(32)); // (sqrt(-1), 0), order 4
  assert.ok(y0 !== null && isSmallOrder(y0));
  assert.ok(!isSmallOrder(BASE));
  assert.ok(!isSmallOrder(pointAdd(BASE, y0!)), "mixed order is not small order");
});

Deno.test("montgomeryUToEdwardsY maps the X25519 base point u = 9 to B's y = 4/5", () => {
  assert.equal(montgomeryUToEdwardsY(9n), toAffine(BASE).y);
  assert.equal(montgomeryUToEdwardsY(P - 1n), null);
  assert.equal(montgomeryUToEdwardsY(1n), 0n);
});

Deno.test("reduceScalar reduces a 64-byte little-endian value mod q", () => {
  assert.equal(reduceScalar(bigIntToBytesLE(Q, 64)), 0n);
  assert.equal(reduceScalar(bigIntToBytesLE(Q + 5n, 64)), 5n);
  const max = new Uint8Array(64).fill(0xff);
  assert.equal(reduceScalar(max), ((1n << 512n) - 1n) % Q);
  assert.equal(bytesToBigIntLE(Uint8Array.of(1, 2)), 0x0201n);
  assert.throws(() => bigIntToBytesLE(1n << 256n), RangeError);
});
