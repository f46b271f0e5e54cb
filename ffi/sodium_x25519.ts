/**
 * X25519 on libsodium's `crypto_scalarmult` through `Deno.dlopen`: several times faster than
 * node:crypto, which builds key objects for every operation. Same results (RFC 7748).
 */
import { WeakKeyError, type X25519, X25519_KEY_BYTES } from "../lib/crypto/x25519.ts";
import { nodeX25519 } from "../lib/crypto/x25519.ts";
import { sodium } from "./libsodium.ts";

function checkLength(key: Uint8Array): void {
  if (key.length !== X25519_KEY_BYTES) throw new RangeError("X25519 keys are 32 bytes");
}

/** libsodium's X25519; throws when libsodium cannot be loaded. */
export function sodiumX25519(): X25519 {
  const c = sodium();
  return {
    name: "libsodium",
    publicKeyOf(privateKey) {
      checkLength(privateKey);
      const out = new Uint8Array(X25519_KEY_BYTES);
      c.crypto_scalarmult_base(out, privateKey);
      return out;
    },
    dh(privateKey, publicKey) {
      checkLength(privateKey);
      checkLength(publicKey);
      const out = new Uint8Array(X25519_KEY_BYTES);
      // libsodium refuses (returns -1) exactly when the result is all zeros.
      if (c.crypto_scalarmult(out, privateKey, publicKey) !== 0) {
        throw new WeakKeyError("X25519 result is zero (weak key)");
      }
      return out;
    },
  };
}

/** libsodium's X25519 when it loads, node:crypto's otherwise. */
export function loadFastX25519(): X25519 {
  try {
    return sodiumX25519();
  } catch {
    return nodeX25519;
  }
}
