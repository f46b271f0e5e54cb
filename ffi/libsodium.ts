/**
 * libsodium through `Deno.dlopen`, bound once per process and never closed (like `libc.ts`):
 * ChaCha20-Poly1305 for the data path and X25519 for handshakes. Hosts without libsodium fall
 * back to node:crypto (see `fast_aead.ts` and `sodium_x25519.ts`).
 */

const SYMBOLS = {
  sodium_init: { parameters: [], result: "i32" },
  crypto_scalarmult: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  crypto_scalarmult_base: { parameters: ["buffer", "buffer"], result: "i32" },
  // int encrypt(c, clen_p, m, mlen, ad, adlen, nsec, npub, k)
  crypto_aead_chacha20poly1305_ietf_encrypt: {
    parameters: [
      "buffer",
      "pointer",
      "buffer",
      "u64",
      "buffer",
      "u64",
      "pointer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  // int decrypt(m, mlen_p, nsec, c, clen, ad, adlen, npub, k)
  crypto_aead_chacha20poly1305_ietf_decrypt: {
    parameters: [
      "buffer",
      "pointer",
      "pointer",
      "buffer",
      "u64",
      "buffer",
      "u64",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The bound libsodium symbols. */
export type Sodium = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Shared libraries tried, in order. */
export const LIBSODIUM_NAMES: readonly string[] = ["libsodium.so.23", "libsodium.so"];

let bound: Sodium | undefined;

/** Binds libsodium on first use; throws a one-line Error when it cannot be loaded. */
export function sodium(): Sodium {
  if (bound) return bound;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
  let lastError: unknown;
  for (const name of LIBSODIUM_NAMES) {
    try {
      lib = Deno.dlopen(name, SYMBOLS);
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (!lib) throw new Error("Cannot load libsodium", { cause: lastError });
  if (lib.symbols.sodium_init() < 0) {
    lib.close();
    throw new Error("sodium_init failed");
  }
  bound = lib.symbols;
  return bound;
}
