const lib = Deno.dlopen("libsodium.so.23", {
  sodium_init: { parameters: [], result: "i32" },
  enc: { name: "crypto_aead_chacha20poly1305_ietf_encrypt", parameters: ["buffer", "pointer", "buffer", "u64", "buffer", "u64", "pointer", "buffer", "buffer"], result: "i32" },
  sodium_library_version_major: { parameters: [], result: "i32" },
  sodium_memcmp: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  sodium_memcmp32: { name: "sodium_memcmp", parameters: ["buffer", "buffer", "u32"], result: "i32" },
} as const);
lib.symbols.sodium_init();
const key = new Uint8Array(32), nonce = new Uint8Array(12), ad = new Uint8Array(16), out = new Uint8Array(1500);
const N = 300000;
function t(name: string, f: () => void) { for (let i = 0; i < 50000; i++) f(); const t0 = performance.now(); for (let i = 0; i < N; i++) f(); console.log(name.padEnd(28), ((performance.now() - t0) * 1e6 / N).toFixed(0), "ns"); }
for (const len of [16, 1400]) {
  const pt = new Uint8Array(len);
  const u = (n: number) => n as unknown as bigint;
  t(`enc ${len} number`, () => lib.symbols.enc(out, null, pt, u(pt.length), ad, u(ad.length), null, nonce, key));
  t(`enc ${len} BigInt()`, () => lib.symbols.enc(out, null, pt, BigInt(pt.length), ad, BigInt(ad.length), null, nonce, key));
}
t("version (0 args)", () => lib.symbols.sodium_library_version_major());
t("memcmp usize bigint", () => lib.symbols.sodium_memcmp(key, key, 32n));
t("memcmp u32", () => lib.symbols.sodium_memcmp32(key, key, 32));
lib.close();
