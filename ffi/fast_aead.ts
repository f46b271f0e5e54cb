/**
 * Picks the fastest available `Aead`: libsodium when it loads, node:crypto otherwise. Both give
 * identical bytes, so peers never need to agree on which one they use.
 */
import { type Aead, NodeAead } from "../lib/crypto/aead.ts";
import { SodiumAead } from "./sodium_aead.ts";

/** `SodiumAead` when libsodium can be loaded (needs `--allow-ffi`), else `NodeAead`. */
export function loadFastAead(): Aead {
  try {
    return new SodiumAead();
  } catch {
    return new NodeAead();
  }
}
