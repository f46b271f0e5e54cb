import type { KeyPair, X25519 } from "../crypto/x25519.ts";

/**
 * `x25519` with DH(our static key, a peer's static key) remembered per peer: it is the same in
 * every handshake with that peer (one X25519 of four saved per handshake on each side). The
 * result is copied out, since Noise wipes the shared secrets it uses.
 */
export function withStaticCache(x25519: X25519, identity: KeyPair, limit: number): X25519 {
  const cache = new Map<string, Uint8Array>();
  return {
    name: x25519.name,
    publicKeyOf: (privateKey) => x25519.publicKeyOf(privateKey),
    dh(privateKey, publicKey) {
      if (privateKey !== identity.privateKey) return x25519.dh(privateKey, publicKey);
      const key = publicKey.toHex();
      let shared = cache.get(key);
      if (!shared) {
        shared = x25519.dh(privateKey, publicKey);
        if (cache.size >= limit) cache.clear();
        cache.set(key, shared);
      }
      return shared.slice();
    },
  };
}
