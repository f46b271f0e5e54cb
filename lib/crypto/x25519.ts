import crypto from "node:crypto";

/** Length in bytes of X25519 private keys, public keys and shared secrets. */
export const X25519_KEY_BYTES = 32;

const PKCS8_PREFIX = Uint8Array.fromHex("302e020100300506032b656e04220420");
const SPKI_PREFIX = Uint8Array.fromHex("302a300506032b656e032100");

/** An X25519 key pair, raw 32-byte keys. */
export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Thrown when a DH result is all zeros (a low-order public key). */
export class WeakKeyError extends Error {
  override name = "WeakKeyError";
}

function privateKeyObject(privateKey: Uint8Array): crypto.KeyObject {
  const der = new Uint8Array(PKCS8_PREFIX.length + X25519_KEY_BYTES);
  der.set(PKCS8_PREFIX);
  der.set(privateKey, PKCS8_PREFIX.length);
  return crypto.createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
}

function publicKeyObject(publicKey: Uint8Array): crypto.KeyObject {
  const der = new Uint8Array(SPKI_PREFIX.length + X25519_KEY_BYTES);
  der.set(SPKI_PREFIX);
  der.set(publicKey, SPKI_PREFIX.length);
  return crypto.createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
}

/** The public key of a raw 32-byte private key. */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  const spki = crypto.createPublicKey(privateKeyObject(privateKey)).export({
    format: "der",
    type: "spki",
  });
  return new Uint8Array(spki.subarray(spki.length - X25519_KEY_BYTES));
}

/** A key pair from 32 random bytes (the caller supplies them, so tests can be deterministic). */
export function keyPairFrom(privateKey: Uint8Array): KeyPair {
  if (privateKey.length !== X25519_KEY_BYTES) throw new RangeError("X25519 keys are 32 bytes");
  return { privateKey: privateKey.slice(), publicKey: publicKeyOf(privateKey) };
}

/** X25519(privateKey, publicKey); throws `WeakKeyError` for an all-zero result. */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== X25519_KEY_BYTES) throw new RangeError("X25519 keys are 32 bytes");
  const out = new Uint8Array(crypto.diffieHellman({
    privateKey: privateKeyObject(privateKey),
    publicKey: publicKeyObject(publicKey),
  }));
  if (out.every((b) => b === 0)) throw new WeakKeyError("X25519 result is zero (weak key)");
  return out;
}

/** An X25519 implementation: the seam between node:crypto and faster native code. */
export interface X25519 {
  readonly name: string;
  /** The public key of a 32-byte private key. */
  publicKeyOf(privateKey: Uint8Array): Uint8Array;
  /** X25519(privateKey, publicKey); throws for an all-zero result (a weak key). */
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

/** X25519 on node:crypto (portable; about 0.2 ms per operation with key object setup). */
export const nodeX25519: X25519 = { name: "node:crypto", publicKeyOf, dh };
