const lib = Deno.dlopen("libsodium.so.23", {
  sodium_init: { parameters: [], result: "i32" },
  enc: { name: "crypto_aead_chacha20poly1305_ietf_encrypt", parameters: ["buffer", "pointer", "buffer", "u64", "buffer", "u64", "pointer", "buffer", "buffer"], result: "i32" },
  enc2: { name: "crypto_aead_chacha20poly1305_ietf_encrypt", parameters: ["buffer", "buffer", "buffer", "u64", "buffer", "u64", "buffer", "buffer", "buffer"], result: "i32" },
  encp: { name: "crypto_aead_chacha20poly1305_ietf_encrypt", parameters: ["pointer", "pointer", "pointer", "u64", "pointer", "u64", "pointer", "pointer", "pointer"], result: "i32" },
  sodium_memcmp: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
} as const);
lib.symbols.sodium_init();
const key = new Uint8Array(32), nonce = new Uint8Array(12), ad = new Uint8Array(16), pt = new Uint8Array(16), out = new Uint8Array(32);
const N = 200000;
function t(name: string, f: () => void) { for (let i = 0; i < 20000; i++) f(); const t0 = performance.now(); for (let i = 0; i < N; i++) f(); console.log(name, ((performance.now() - t0) * 1e6 / N).toFixed(0), "ns"); }
const u = (n: number) => n as unknown as bigint;
t("number u64, null ptrs", () => lib.symbols.enc(out, null, pt, u(16), ad, u(16), null, nonce, key));
t("bigint u64, null ptrs", () => lib.symbols.enc(out, null, pt, 16n, ad, 16n, null, nonce, key));
t("all buffers (null)", () => lib.symbols.enc2(out, null, pt, u(16), ad, u(16), null, nonce, key));
const P = (b: Uint8Array) => Deno.UnsafePointer.of(b);
const po = P(out), pp = P(pt), pa = P(ad), pn = P(nonce), pk = P(key);
t("raw pointers", () => lib.symbols.encp(po, null, pp, u(16), pa, u(16), null, pn, pk));
t("memcmp usize number", () => lib.symbols.sodium_memcmp(key, key, u(32)));
lib.close();
