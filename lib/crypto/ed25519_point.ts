/**
 * BigInt arithmetic on edwards25519 (-x^2 + y^2 = 1 + d x^2 y^2 over GF(2^255 - 19)), just enough
 * for XEdDSA signing and key conversion: extended coordinates, add/double, a windowed fixed-base
 * scalar multiplication, point encoding/decoding, scalar reduction mod the group order q, and the
 * Montgomery-u to Edwards-y map.
 *
 * Not constant time: BigInt arithmetic leaks timing. Acceptable for the DHT record signatures it
 * serves (a local signer, no remote timing oracle on the secret scalar beyond sign latency).
 *
 * Point encoding (RFC 8032 §5.1.2):
 *
 *   byte  0                                31
 *        +-----------------------------------+
 *        | y, 255 bits little-endian  |sign  |   sign = bit 7 of byte 31 = x mod 2
 *        +-----------------------------------+
 */

/** The field prime p = 2^255 - 19. */
export const P = 2n ** 255n - 19n;
/** The prime order q of the base point: 2^252 + 27742317777372353535851937790883648493. */
export const Q = 2n ** 252n + 27742317777372353535851937790883648493n;
/** The curve constant d = -121665/121666 mod p. */
export const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
/** Length in bytes of an encoded point or scalar. */
export const ED25519_ENCODED_BYTES = 32;

const D2 = (2n * D) % P;
/** sqrt(-1) mod p = 2^((p-1)/4). */
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;

/** A point in extended coordinates: x = X/Z, y = Y/Z, x*y = T/Z. */
export interface ExtendedPoint {
  readonly X: bigint;
  readonly Y: bigint;
  readonly Z: bigint;
  readonly T: bigint;
}

/** The neutral element (0, 1). */
export const IDENTITY: ExtendedPoint = { X: 0n, Y: 1n, Z: 1n, T: 0n };

const BASE_X = 15112221349535400772501151409588531511454012693041857206046113283949847762202n;
const BASE_Y = 46316835694926478169428394003475163141307993866256225615783033603165251855960n;
/** The standard base point B (y = 4/5, x even). */
export const BASE: ExtendedPoint = { X: BASE_X, Y: BASE_Y, Z: 1n, T: (BASE_X * BASE_Y) % P };

/** `a` reduced into [0, p). */
export function mod(a: bigint): bigint {
  const r = a % P;
  return r >= 0n ? r : r + P;
}

/** x^(2^k) mod p: `k` squarings. */
function pow2k(x: bigint, k: number): bigint {
  let r = x;
  for (let i = 0; i < k; i++) r = (r * r) % P;
  return r;
}

/**
 * x^(2^250 - 1) and x^11 by the ref10 addition chain (250 squarings, 11 multiplies), the shared
 * prefix of inversion and square roots.
 */
function powChain(x: bigint): { b250: bigint; x11: bigint } {
  const x2 = (x * x) % P;
  const x9 = (pow2k(x2, 2) * x) % P;
  const x11 = (x9 * x2) % P;
  const b5 = (((x11 * x11) % P) * x9) % P; // x^31 = x^(2^5 - 1)
  const b10 = (pow2k(b5, 5) * b5) % P;
  const b20 = (pow2k(b10, 10) * b10) % P;
  const b40 = (pow2k(b20, 20) * b20) % P;
  const b50 = (pow2k(b40, 10) * b10) % P;
  const b100 = (pow2k(b50, 50) * b50) % P;
  const b200 = (pow2k(b100, 100) * b100) % P;
  const b250 = (pow2k(b200, 50) * b50) % P;
  return { b250, x11 };
}

/** The inverse of `a` mod p via Fermat, a^(p-2) = a^(2^255 - 21); returns 0 for a = 0 mod p. */
export function invert(a: bigint): bigint {
  const { b250, x11 } = powChain(mod(a));
  return (pow2k(b250, 5) * x11) % P;
}

/** a^((p+3)/8) = a^(2^252 - 2) mod p, the square-root candidate exponent. */
function powSqrtCandidate(a: bigint): bigint {
  const x = mod(a);
  const { b250 } = powChain(x);
  return (((pow2k(b250, 2) * x) % P) * x) % P;
}

/** P1 + P2 (add-2008-hwcd-3 for a = -1; complete, so also valid for P1 = P2 and the identity). */
export function pointAdd(p1: ExtendedPoint, p2: ExtendedPoint): ExtendedPoint {
  const a = mod((p1.Y - p1.X) * (p2.Y - p2.X));
  const b = mod((p1.Y + p1.X) * (p2.Y + p2.X));
  const c = mod(mod(p1.T * D2) * p2.T);
  const d = mod(2n * p1.Z * p2.Z);
  const e = b - a, f = d - c, g = d + c, h = b + a;
  return { X: mod(e * f), Y: mod(g * h), Z: mod(f * g), T: mod(e * h) };
}

/** 2P (dbl-2008-hwcd for a = -1). */
export function pointDouble(p: ExtendedPoint): ExtendedPoint {
  const a = mod(p.X * p.X);
  const b = mod(p.Y * p.Y);
  const c = mod(2n * p.Z * p.Z);
  const e = mod((p.X + p.Y) * (p.X + p.Y)) - a - b;
  const g = b - a, f = g - c, h = -a - b;
  return { X: mod(e * f), Y: mod(g * h), Z: mod(f * g), T: mod(e * h) };
}

/** -P. */
export function pointNegate(p: ExtendedPoint): ExtendedPoint {
  return { X: mod(-p.X), Y: p.Y, Z: p.Z, T: mod(-p.T) };
}

/** True when the two points are the same group element (compares X1 Z2 = X2 Z1, Y1 Z2 = Y2 Z1). */
export function pointEquals(p1: ExtendedPoint, p2: ExtendedPoint): boolean {
  return mod(p1.X * p2.Z - p2.X * p1.Z) === 0n && mod(p1.Y * p2.Z - p2.Y * p1.Z) === 0n;
}

/**
 * k * P by plain double-and-add, for any point and any non-negative `k`. Slow (a few ms); it is
 * the obvious model the fixed-base multiplication is checked against, and used for rare checks.
 */
export function scalarMult(p: ExtendedPoint, k: bigint): ExtendedPoint {
  if (k < 0n) throw new RangeError("scalar must be non-negative");
  let acc = IDENTITY;
  let addend = p;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) acc = pointAdd(acc, addend);
    addend = pointDouble(addend);
  }
  return acc;
}

// ---------------------------------------------------------------------------------------------
// Fixed-base multiplication: 32 windows of 8 bits; window i holds j * 256^i * B for j = 1..255
// as affine "Niels" triples (y + x, y - x, 2 d x y), so each window costs one 7-multiply mixed
// addition. Built once on first use (8160 points, tens of ms), then about 32 additions per mult.

const WINDOW_BITS = 8;
const WINDOW_COUNT = 32;
const WINDOW_ENTRIES = (1 << WINDOW_BITS) - 1;

/** Precomputed affine point: y + x, y - x, 2 d x y (all mod p). */
interface NielsPoint {
  readonly ypx: bigint;
  readonly ymx: bigint;
  readonly xy2d: bigint;
}

let baseTable: NielsPoint[] | null = null;

function buildBaseTable(): NielsPoint[] {
  const projective: ExtendedPoint[] = [];
  let windowBase = BASE;
  for (let w = 0; w < WINDOW_COUNT; w++) {
    let acc = windowBase;
    for (let j = 1; j <= WINDOW_ENTRIES; j++) {
      projective.push(acc);
      acc = pointAdd(acc, windowBase);
    }
    windowBase = acc; // 256 * windowBase
  }
  // Batch-invert all Z coordinates (Montgomery's trick): one field inversion for the table.
  const prefix: bigint[] = new Array(projective.length);
  let running = 1n;
  for (let i = 0; i < projective.length; i++) {
    prefix[i] = running;
    running = mod(running * projective[i]!.Z);
  }
  let inv = invert(running);
  const table: NielsPoint[] = new Array(projective.length);
  for (let i = projective.length - 1; i >= 0; i--) {
    const pt = projective[i]!;
    const zInv = mod(inv * prefix[i]!);
    inv = mod(inv * pt.Z);
    const x = mod(pt.X * zInv), y = mod(pt.Y * zInv);
    table[i] = { ypx: mod(y + x), ymx: mod(y - x), xy2d: mod(mod(x * y) * D2) };
  }
  return table;
}

/** k * B for 0 <= k < 2^256, using the lazily built window table (well under a millisecond). */
export function scalarMultBase(k: bigint): ExtendedPoint {
  if (k < 0n || k >= 1n << 256n) throw new RangeError("scalar must be in [0, 2^256)");
  const table = baseTable ??= buildBaseTable();
  let X = 0n, Y = 1n, Z = 1n, T = 0n;
  let e = k;
  for (let w = 0; w < WINDOW_COUNT; w++, e >>= 8n) {
    const digit = Number(e & 0xffn);
    if (digit === 0) continue;
    const n = table[w * WINDOW_ENTRIES + digit - 1]!;
    const b = mod((Y + X) * n.ypx);
    const a = mod((Y - X) * n.ymx);
    const c = mod(T * n.xy2d);
    const d = 2n * Z;
    const ee = b - a, f = d - c, g = d + c, h = b + a;
    X = mod(ee * f);
    Y = mod(g * h);
    Z = mod(f * g);
    T = mod(ee * h);
  }
  return { X, Y, Z, T };
}

// ---------------------------------------------------------------------------------------------
// Encodings.

/** The little-endian unsigned integer in `bytes` (any length). */
export function bytesToBigIntLE(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt("0x" + bytes.slice().reverse().toHex());
}

/** `n` as exactly `length` little-endian bytes; throws RangeError if it does not fit. */
export function bigIntToBytesLE(n: bigint, length: number = ED25519_ENCODED_BYTES): Uint8Array {
  if (n < 0n || n >= 1n << BigInt(8 * length)) throw new RangeError("integer out of range");
  return Uint8Array.fromHex(n.toString(16).padStart(2 * length, "0")).reverse();
}

/** A 64-byte (or any length) little-endian value reduced mod q, e.g. a SHA-512 digest. */
export function reduceScalar(bytes: Uint8Array): bigint {
  return bytesToBigIntLE(bytes) % Q;
}

/** The affine coordinates of `p`. */
export function toAffine(p: ExtendedPoint): { x: bigint; y: bigint } {
  const zInv = invert(p.Z);
  return { x: mod(p.X * zInv), y: mod(p.Y * zInv) };
}

/** The 32-byte encoding: y little-endian with the low bit of x in bit 255. */
export function encodePoint(p: ExtendedPoint): Uint8Array {
  const { x, y } = toAffine(p);
  const out = bigIntToBytesLE(y);
  out[31]! |= Number(x & 1n) << 7;
  return out;
}

/**
 * Decodes a 32-byte point encoding. Total: returns null for a wrong length, a non-canonical y
 * (y >= p), a y with no x on the curve, or x = 0 with the sign bit set.
 */
export function decodePoint(bytes: Uint8Array): ExtendedPoint | null {
  if (bytes.length !== ED25519_ENCODED_BYTES) return null;
  const sign = (bytes[31]! >> 7) & 1;
  const y = bytesToBigIntLE(bytes) & ((1n << 255n) - 1n);
  if (y >= P) return null;
  const x = recoverX(y, sign);
  if (x === null) return null;
  return { X: x, Y: y, Z: 1n, T: mod(x * y) };
}

/** The x with the given low bit on the curve at `y`, or null when there is none. */
function recoverX(y: bigint, sign: number): bigint | null {
  const y2 = mod(y * y);
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n); // never 0: d is not a square
  const x2 = mod(u * invert(v));
  let x = powSqrtCandidate(x2);
  if (mod(x * x - x2) !== 0n) {
    x = mod(x * SQRT_M1);
    if (mod(x * x - x2) !== 0n) return null;
  }
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = P - x;
  return x;
}

/** True when 8P is the identity, i.e. P is one of the eight small-order (torsion) points. */
export function isSmallOrder(p: ExtendedPoint): boolean {
  return pointEquals(pointDouble(pointDouble(pointDouble(p))), IDENTITY);
}

/**
 * The Edwards y of Montgomery u under the birational map y = (u - 1) / (u + 1) mod p. Returns
 * null for u = -1 mod p, where the map is undefined. `u` is taken mod p.
 */
export function montgomeryUToEdwardsY(u: bigint): bigint | null {
  const denominator = mod(u + 1n);
  if (denominator === 0n) return null;
  return mod((u - 1n) * invert(denominator));
}
